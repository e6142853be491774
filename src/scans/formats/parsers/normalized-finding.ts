/** One severity scale for every scanner; each parser maps its scanner's own scale onto it. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Longest evidence snippet kept per finding (characters); the rest is cut, never buffered. */
export const MAX_EVIDENCE_CHARS = 1024;

/** A finding as every scanner's parser reports it, whatever the report's own shape. */
export interface NormalizedFinding {
  /** The scanner's `shortName` (`zap`, `burp`, `acunetix`, `appscan`, `webinspect`, `spider`). */
  scanner: string;
  /** The scanner's own rule / plugin / issue-type id, as text. */
  ruleId: string;
  name: string;
  severity: Severity;
  cwe: number | null;
  /** Absolute URL where the scanner gives one. */
  url: string | null;
  /** The URL's path (no query), used for dedupe. */
  path: string | null;
  parameter: string | null;
  /** At most MAX_EVIDENCE_CHARS characters. */
  evidence: string | null;
  /** Stable across scans of the same scanner: hex SHA-256 of scanner, ruleId, path and parameter. */
  fingerprint: string;
}

/** Called once per finding, in report order; awaiting it applies backpressure to the parse. */
export type FindingSink = (finding: NormalizedFinding) => void | Promise<void>;

export interface ParseSummary {
  findings: number;
  bytes: number;
}

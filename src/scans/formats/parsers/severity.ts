import type { Severity } from './normalized-finding';

/**
 * Each scanner's own severity values (compared lower-cased and trimmed) onto our scale. A value not in
 * a scanner's table (a newer scanner version, a hand-edited report) maps to `info` rather than
 * failing the import; docs/scan-parsers.md lists the same tables.
 */
export const SEVERITY_TABLES: Readonly<Record<string, Readonly<Record<string, Severity>>>> = {
  // <riskcode>: 3 High, 2 Medium, 1 Low, 0 Informational (-1 marks a false positive).
  zap: { '3': 'high', '2': 'medium', '1': 'low', '0': 'info', '-1': 'info' },
  // <severity>
  burp: {
    high: 'high',
    medium: 'medium',
    low: 'low',
    information: 'info',
    informational: 'info',
    'false positive': 'info',
  },
  // <Severity>
  acunetix: {
    critical: 'critical',
    high: 'high',
    medium: 'medium',
    low: 'low',
    informational: 'info',
    info: 'info',
  },
  // <severity> of an issue-group item
  appscan: {
    critical: 'critical',
    high: 'high',
    medium: 'medium',
    low: 'low',
    informational: 'info',
    information: 'info',
  },
  // <Severity> of an Issue: 4 Critical, 3 High, 2 Medium, 1 Low, 0 Information.
  webinspect: { '4': 'critical', '3': 'high', '2': 'medium', '1': 'low', '0': 'info' },
  // <AttackScore> "N-Label": the label after the dash is looked up.
  spider: {
    critical: 'critical',
    high: 'high',
    medium: 'medium',
    low: 'low',
    informational: 'info',
    info: 'info',
    safe: 'info',
  },
};

export function mapSeverity(scanner: string, raw: string | null): Severity {
  const table = Object.hasOwn(SEVERITY_TABLES, scanner) ? SEVERITY_TABLES[scanner] : undefined;
  const key = raw?.trim().toLowerCase();
  // hasOwn: a report's "constructor" must not find Object.prototype's.
  return table !== undefined && key !== undefined && Object.hasOwn(table, key)
    ? table[key]
    : 'info';
}

/** A CWE number from `79`, `CWE-79` or `CWE-79: ...`; null for none, 0 or negative (ZAP's -1). */
export function parseCwe(raw: string | null): number | null {
  if (raw === null) return null;
  const match = /^\s*(?:cwe-)?(\d+)/i.exec(raw);
  if (match === null) return null;
  const n = Number(match[1]);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

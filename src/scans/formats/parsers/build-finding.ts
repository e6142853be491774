import { findingFingerprint, urlPath } from './fingerprint';
import { MAX_EVIDENCE_CHARS, type NormalizedFinding, type Severity } from './normalized-finding';

/** Longest URL, parameter, name or id kept (characters); longer values are cut while streaming. */
export const MAX_FIELD_CHARS = 4096;
export { MAX_EVIDENCE_CHARS };

/**
 * Element name → capture limit. A Map, not an object lookup: an element named `constructor` or
 * `__proto__` must not find an inherited property (which would disable the limit).
 */
export function fieldLimits(limits: Record<string, number>): ReadonlyMap<string, number> {
  return new Map(Object.entries(limits));
}

export interface FindingFields {
  ruleId: string | null;
  name: string | null;
  severity: Severity;
  cwe: number | null;
  url: string | null;
  /** Defaults to the path of `url`. */
  path?: string | null;
  parameter: string | null;
  evidence: string | null;
}

/**
 * Scheme and host lower-cased (they are case-insensitive, so `HTTP://Host/A` and `http://host/A`
 * are one place); the path, query and fragment are kept as the scanner wrote them.
 */
export function normalizeUrl(url: string | null): string | null {
  if (url === null) return null;
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, (origin) => origin.toLowerCase());
}

/** Empty strings become null, the URL's scheme and host lower-cased, the path is derived, the fingerprint computed. */
export function buildFinding(scanner: string, fields: FindingFields): NormalizedFinding {
  const ruleId = fields.ruleId || '';
  const url = normalizeUrl(fields.url || null);
  const path = (fields.path === undefined ? urlPath(url) : fields.path) || null;
  const parameter = fields.parameter || null;
  return {
    scanner,
    ruleId,
    name: fields.name || ruleId,
    severity: fields.severity,
    cwe: fields.cwe,
    url,
    path,
    parameter,
    evidence: fields.evidence ? fields.evidence.slice(0, MAX_EVIDENCE_CHARS) : null,
    fingerprint: findingFingerprint(scanner, ruleId, path, url, parameter),
  };
}

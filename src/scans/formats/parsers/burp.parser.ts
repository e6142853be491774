import { buildFinding, fieldLimits, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { joinUrl, urlPath } from './fingerprint';
import { mapSeverity, parseCwe } from './severity';
import type { ReportParser } from './read-report';

const ISSUE_FIELDS = fieldLimits({
  type: MAX_FIELD_CHARS,
  name: MAX_FIELD_CHARS,
  host: MAX_FIELD_CHARS,
  path: MAX_FIELD_CHARS,
  location: MAX_FIELD_CHARS,
  severity: MAX_FIELD_CHARS,
  issueDetail: MAX_EVIDENCE_CHARS,
  vulnerabilityClassifications: MAX_FIELD_CHARS,
});

/**
 * Burp's issue type of every issue raised by an extension (0x08000000): only their names tell them
 * apart, so their rule id is `134217728:<name>`. With the bare type, issues of different names at
 * one path shared a fingerprint and the merge kept only the first.
 */
export const EXTENSION_ISSUE_TYPE = '134217728';

/**
 * The parameter Burp names at the end of `<location>`: `/login.jsp [password parameter]`,
 * `/basket.jsp [b_id cookie]`, `/x [Referer HTTP header]`, `/x [name JSON parameter]`. Locations
 * such as `/x [URL path filename]` or `/x [name of an arbitrarily supplied URL parameter]` name no
 * parameter.
 */
export function burpParameter(location: string | null): string | null {
  if (location === null) return null;
  const match = /\[(\S+) (?:[^\]]* )?(?:parameter|cookie|header)\]\s*$/i.exec(location);
  // `[name of an arbitrarily supplied ... parameter]`: a parameter Burp added; the app has no such name.
  if (match === null || /^name of an arbitrarily supplied /i.test(match[0].slice(1))) return null;
  return match[1];
}

/** Burp Suite's XML export (`<issues>`): one finding per `<issue>`. */
export const burpParser: ReportParser = (xml, emit) => {
  let issue: Record<string, string> | null = null;
  return {
    open(name) {
      if (name === 'issue' && xml.parent() === 'issues') issue = {};
      else if (issue !== null && xml.parent() === 'issue') {
        const limit = ISSUE_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      }
    },
    close(name, _path, text) {
      if (issue === null) return;
      if (name === 'issue' && xml.parent() === 'issues') {
        const path = issue.path || null;
        // <vulnerabilityClassifications> (Burp 2.x) lists CWE links; the first CWE-n is taken.
        const cweMatch = /CWE-(\d+)/i.exec(issue.vulnerabilityClassifications ?? '');
        emit(
          buildFinding('burp', {
            ruleId:
              issue.type === EXTENSION_ISSUE_TYPE && issue.name
                ? `${issue.type}:${issue.name}`
                : issue.type,
            name: issue.name,
            severity: mapSeverity('burp', issue.severity ?? null),
            cwe: cweMatch === null ? null : parseCwe(cweMatch[1]),
            url: joinUrl(issue.host ?? null, path),
            path: urlPath(path),
            parameter: burpParameter(issue.location ?? null),
            evidence: issue.issueDetail ?? null,
          }),
        );
        issue = null;
      } else if (text !== null) {
        issue[name] = text;
      }
    },
  };
};

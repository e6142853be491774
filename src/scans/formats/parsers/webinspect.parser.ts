import { buildFinding, fieldLimits, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { mapSeverity, parseCwe } from './severity';
import type { ReportParser } from './read-report';

const ISSUE_FIELDS = fieldLimits({
  VulnerabilityID: MAX_FIELD_CHARS,
  CheckTypeID: MAX_FIELD_CHARS,
  Name: MAX_FIELD_CHARS,
  Severity: MAX_FIELD_CHARS,
  AttackHTTPRequest: MAX_EVIDENCE_CHARS,
});

/**
 * WebInspect's XML export (`<Sessions>`): one finding per `<Issue>` of a `<Session>`, at the
 * session's `<URL>` with its `<AttackParamDescriptor>` as parameter (both come before `<Issues>`).
 * The CWE is the first `<Classification kind="CWE">`; evidence is the `<AttackHTTPRequest>`.
 */
export const webInspectParser: ReportParser = (xml, emit) => {
  let url: string | null = null;
  let param: string | null = null;
  let issue: Record<string, string> | null = null;
  let cwe: number | null = null;
  let cweCapture = false;
  return {
    open(name, path, attributes) {
      if (path.length === 2 && name === 'Session') {
        url = null;
        param = null;
      } else if (path.length === 3 && (name === 'URL' || name === 'AttackParamDescriptor')) {
        xml.capture(MAX_FIELD_CHARS);
      } else if (name === 'Issue' && xml.parent() === 'Issues') {
        issue = {};
        cwe = null;
      } else if (issue !== null && xml.parent() === 'Issue') {
        const limit = ISSUE_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      } else if (
        issue !== null &&
        name === 'Classification' &&
        cwe === null &&
        attributes.kind?.toUpperCase() === 'CWE'
      ) {
        cwe = parseCwe(attributes.identifier ?? null);
        cweCapture = cwe === null; // no identifier attribute: read "CWE-n: ..." from the text
        if (cweCapture) xml.capture(MAX_FIELD_CHARS);
      }
    },
    close(name, path, text) {
      if (path.length === 3 && issue === null) {
        if (name === 'URL') url = text || null;
        else if (name === 'AttackParamDescriptor') param = text || null;
      } else if (issue === null) {
        return;
      } else if (name === 'Issue' && xml.parent() === 'Issues') {
        emit(
          buildFinding('webinspect', {
            ruleId: issue.VulnerabilityID || issue.CheckTypeID || null,
            name: issue.Name ?? null,
            severity: mapSeverity('webinspect', issue.Severity ?? null),
            cwe,
            url,
            parameter: param,
            evidence: issue.AttackHTTPRequest || null,
          }),
        );
        issue = null;
      } else if (name === 'Classification' && cweCapture) {
        cweCapture = false;
        cwe = parseCwe(text);
      } else if (text !== null) {
        issue[name] = text;
      }
    },
  };
};

import { buildFinding, fieldLimits, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { joinUrl, urlPath } from './fingerprint';
import { mapSeverity, parseCwe } from './severity';
import type { ReportParser } from './read-report';

const ITEM_FIELDS = fieldLimits({
  Name: MAX_FIELD_CHARS,
  Affects: MAX_FIELD_CHARS,
  Parameter: MAX_FIELD_CHARS,
  Severity: MAX_FIELD_CHARS,
  Details: MAX_EVIDENCE_CHARS,
});

/**
 * The scan's start URL as an absolute URL: Acunetix writes `www.example.com` or
 * `www.example.com:8080` without a scheme, and http is meant. (`host:port` must not be read as a
 * URL whose scheme is the host.)
 */
function startUrlOf(text: string): string | null {
  if (text === '') return null;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
}

/** Acunetix's placeholder for "no parameter". */
const NO_PARAMETER = '<empty>';

/**
 * Acunetix WVS's XML export (`<ScanGroup><Scan>`): one finding per `<ReportItem>` of a scan's
 * `<ReportItems>`, located at the scan's `<StartURL>` joined with the item's `<Affects>` path. A
 * StartURL without scheme (`www.example.com`, `www.example.com:8080`) is taken as http.
 */
export const acunetixParser: ReportParser = (xml, emit) => {
  let startUrl: string | null = null;
  let item: Record<string, string> | null = null;
  let cwe: number | null = null;
  return {
    open(name, path, attributes) {
      if (name === 'Scan' && path.length === 2) startUrl = null;
      else if (name === 'StartURL' && xml.parent() === 'Scan') xml.capture(MAX_FIELD_CHARS);
      else if (name === 'ReportItem' && xml.parent() === 'ReportItems') {
        item = {};
        cwe = null;
      } else if (item !== null && xml.parent() === 'ReportItem') {
        const limit = ITEM_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      } else if (item !== null && name === 'CWE' && xml.parent() === 'CWEList' && cwe === null) {
        cwe = parseCwe(attributes.id ?? null);
        if (cwe === null) xml.capture(MAX_FIELD_CHARS); // no id attribute: read "CWE-n"
      }
    },
    close(name, _path, text) {
      if (name === 'StartURL' && item === null && text !== null) {
        startUrl = startUrlOf(text);
      } else if (item === null) {
        return;
      } else if (name === 'ReportItem' && xml.parent() === 'ReportItems') {
        const affects = item.Affects || null;
        emit(
          buildFinding('acunetix', {
            // Acunetix has no numeric check id in this export; the vulnerability name is what
            // stays the same for one kind of issue (ThreadFix maps Acunetix vulns by it too).
            ruleId: item.Name,
            name: item.Name,
            severity: mapSeverity('acunetix', item.Severity ?? null),
            cwe,
            url: joinUrl(startUrl, affects),
            path: urlPath(affects),
            parameter: item.Parameter === NO_PARAMETER ? null : item.Parameter || null,
            evidence: item.Details || null,
          }),
        );
        item = null;
      } else if (name === 'CWE' && text !== null) {
        cwe = parseCwe(text);
      } else if (text !== null) {
        item[name] = text;
      }
    },
  };
};

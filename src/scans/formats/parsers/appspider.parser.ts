import { buildFinding, fieldLimits, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { mapSeverity, parseCwe } from './severity';
import type { ReportParser } from './read-report';

const VULN_FIELDS = fieldLimits({
  ModuleId: MAX_FIELD_CHARS,
  VulnType: MAX_FIELD_CHARS,
  VulnUrl: MAX_FIELD_CHARS,
  Url: MAX_FIELD_CHARS,
  VulnParam: MAX_FIELD_CHARS,
  ParameterName: MAX_FIELD_CHARS,
  AttackScore: MAX_FIELD_CHARS,
  CweId: MAX_FIELD_CHARS,
  MatchedString: MAX_EVIDENCE_CHARS,
});

/** AppSpider writes `N/A` for "none". */
function value(raw: string | undefined): string | null {
  return raw === undefined || raw === '' || raw.toUpperCase() === 'N/A' ? null : raw;
}

/**
 * AppSpider's `VulnerabilitiesSummary.xml` (`<VulnSummary>`): one finding per `<Vuln>` of
 * `<VulnList>`. ruleId is the attack module's `<ModuleId>`; severity is the label of `<AttackScore>`
 * (`2-Low` → low); evidence is `<MatchedString>`.
 */
export const appSpiderParser: ReportParser = (xml, emit) => {
  let vuln: Record<string, string> | null = null;
  return {
    open(name) {
      if (name === 'Vuln' && xml.parent() === 'VulnList') vuln = {};
      else if (vuln !== null && xml.parent() === 'Vuln') {
        const limit = VULN_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      }
    },
    close(name, _path, text) {
      if (vuln === null) return;
      if (name === 'Vuln' && xml.parent() === 'VulnList') {
        const score = vuln.AttackScore ?? '';
        emit(
          buildFinding('spider', {
            ruleId: value(vuln.ModuleId) ?? value(vuln.VulnType),
            name: value(vuln.VulnType),
            severity: mapSeverity('spider', score.slice(score.indexOf('-') + 1)),
            cwe: parseCwe(value(vuln.CweId)),
            url: value(vuln.VulnUrl) ?? value(vuln.Url),
            parameter: value(vuln.VulnParam) ?? value(vuln.ParameterName),
            evidence: value(vuln.MatchedString),
          }),
        );
        vuln = null;
      } else if (text !== null) {
        vuln[name] = text;
      }
    },
  };
};

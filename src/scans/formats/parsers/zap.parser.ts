import { buildFinding, fieldLimits, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { mapSeverity, parseCwe } from './severity';
import type { ReportParser } from './read-report';

/**
 * Instances of one alert held while waiting for the alert's `<cweid>`, which ZAP writes after
 * `<instances>`. Past this many, they are reported at once with `cwe: null` (so an alert with
 * millions of instances still parses in bounded memory), and so are the alert's later instances.
 */
export const MAX_PENDING_INSTANCES = 1000;

interface Instance {
  uri: string | null;
  param: string | null;
  evidence: string | null;
}

/** Alert fields we keep; everything else (desc, solution, request/response) streams past. */
const ALERT_FIELDS = fieldLimits({
  pluginid: MAX_FIELD_CHARS,
  name: MAX_FIELD_CHARS,
  alert: MAX_FIELD_CHARS,
  riskcode: MAX_FIELD_CHARS,
  cweid: MAX_FIELD_CHARS,
  uri: MAX_FIELD_CHARS,
  param: MAX_FIELD_CHARS,
  evidence: MAX_EVIDENCE_CHARS,
});
const INSTANCE_FIELDS = fieldLimits({
  uri: MAX_FIELD_CHARS,
  param: MAX_FIELD_CHARS,
  evidence: MAX_EVIDENCE_CHARS,
});

/**
 * ZAP's XML report (`<OWASPZAPReport>`, or the pre-2.x `<report>`): one finding per `<instance>` of
 * each `<alertitem>`; an alert without instances gives one finding from its own `<uri>`/`<param>`.
 */
export const zapParser: ReportParser = (xml, emit) => {
  let inAlert = false;
  let alert: Record<string, string | null> = {};
  let instance: Instance | null = null;
  let pending: Instance[] = [];
  let instances = 0;
  let overflowed = false;

  const report = (i: Instance, cwe: number | null): void =>
    emit(
      buildFinding('zap', {
        ruleId: alert.pluginid ?? null,
        name: alert.name || alert.alert || null,
        severity: mapSeverity('zap', alert.riskcode ?? null),
        cwe,
        url: i.uri,
        parameter: i.param,
        evidence: i.evidence,
      }),
    );
  const overflow = (): void => {
    overflowed = true;
    for (const i of pending) report(i, null);
    pending = [];
  };

  return {
    open(name) {
      if (name === 'alertitem') {
        inAlert = true;
        alert = {};
        pending = [];
        instances = 0;
        overflowed = false;
      } else if (!inAlert) {
        return;
      } else if (name === 'instance' && xml.parent() === 'instances') {
        instance = { uri: null, param: null, evidence: null };
      } else if (instance !== null && xml.parent() === 'instance') {
        const limit = INSTANCE_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      } else if (xml.parent() === 'alertitem') {
        const limit = ALERT_FIELDS.get(name);
        if (limit !== undefined) xml.capture(limit);
      }
    },
    close(name, _path, text) {
      if (!inAlert) return;
      if (name === 'alertitem') {
        inAlert = false;
        const cwe = parseCwe(alert.cweid ?? null);
        if (instances === 0) {
          report(
            {
              uri: alert.uri ?? null,
              param: alert.param ?? null,
              evidence: alert.evidence ?? null,
            },
            cwe,
          );
        }
        for (const i of pending) report(i, cwe);
        pending = [];
      } else if (name === 'instance' && instance !== null) {
        instances++;
        if (overflowed) report(instance, null);
        else {
          pending.push(instance);
          if (pending.length >= MAX_PENDING_INSTANCES) overflow();
        }
        instance = null;
      } else if (text !== null) {
        if (instance !== null) instance[name as keyof Instance] = text;
        else alert[name] = text;
      }
    },
  };
};

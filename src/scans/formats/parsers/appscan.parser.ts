import { buildFinding, MAX_EVIDENCE_CHARS, MAX_FIELD_CHARS } from './build-finding';
import { mapSeverity, parseCwe } from './severity';
import type { ElementPath } from '../safe-xml-reader';
import type { ReportParser } from './read-report';

/**
 * Issues refer by id to issue types, URLs and entities listed earlier in the report; these lookup
 * tables are the one thing that grows with the report (with its distinct URLs and parameters, not its
 * issues or traffic), so each is capped. A reference past the cap resolves to null.
 */
export const MAX_LOOKUP_ENTRIES = 50_000;

interface Entity {
  name: string | null;
  type: string | null;
  url: string | null;
}

/** The references of an issue we resolve: `<issue-type><ref>`, `<url><ref>`, `<entity><ref>`. */
const REFERENCES = new Set(['issue-type', 'url', 'entity']);

/** Entity kinds that are a parameter of the URL rather than the page itself. */
const PARAMETER_ENTITY_TYPES = new Set(['parameter', 'cookie', 'header']);

/**
 * IBM AppScan Standard's `xml-report` (report format 2.x): one finding per `<item>` of
 * `<issue-group>`, with its issue type, URL and entity resolved from `<issue-type-group>`,
 * `<url-group>` and `<entity-group>`; evidence is the first variant's `<reasoning>`.
 */
export const appScanParser: ReportParser = (xml, emit) => {
  const issueTypes = new Map<string, { name: string | null; cwe: number | null }>();
  const urls = new Map<string, string>();
  const entities = new Map<string, Entity>();
  let id: string | null = null; // id of the current item of any group
  let fields: Record<string, string> = {};
  let variants = 0;

  // path: xml-report / <group> / item / <field> [/ ref]
  const group = (path: ElementPath): string | undefined => path[1];
  const add = <V>(map: Map<string, V>, key: string | null, value: V): void => {
    if (key !== null && key !== '' && map.size < MAX_LOOKUP_ENTRIES) map.set(key, value);
  };

  return {
    open(name, path, attributes) {
      const depth = path.length;
      if (depth === 3 && name === 'item') {
        id = attributes.id ?? '';
        fields = {};
        variants = 0;
        return;
      }
      if (id === null || depth < 4) return;
      const g = group(path);
      if (depth === 4) {
        if (g === 'issue-group' && name === 'variant-group') return;
        if (
          g === 'issue-group' ||
          g === 'issue-type-group' ||
          g === 'url-group' ||
          g === 'entity-group'
        ) {
          if (['name', 'cwe', 'severity', 'url-name', 'entity-type'].includes(name))
            xml.capture(MAX_FIELD_CHARS);
        }
      } else if (
        depth === 5 &&
        g === 'issue-group' &&
        name === 'ref' &&
        REFERENCES.has(xml.parent() ?? '')
      ) {
        xml.capture(MAX_FIELD_CHARS);
      } else if (
        depth === 5 &&
        g === 'issue-group' &&
        name === 'item' &&
        xml.parent() === 'variant-group'
      ) {
        variants++;
      } else if (depth === 6 && g === 'issue-group' && name === 'reasoning' && variants === 1) {
        xml.capture(MAX_EVIDENCE_CHARS);
      }
    },
    close(name, path, text) {
      if (id === null) return;
      const depth = path.length;
      if (text !== null) {
        // A field (depth 4), a reference (key: its parent) or the first variant's reasoning.
        fields[depth === 5 ? (xml.parent() ?? name) : name] = text;
        return;
      }
      if (depth !== 3 || name !== 'item') return;
      const g = group(path);
      if (g === 'issue-type-group') {
        add(issueTypes, id, { name: fields.name || null, cwe: parseCwe(fields.cwe ?? null) });
      } else if (g === 'url-group') {
        if (fields.name) add(urls, id, fields.name);
      } else if (g === 'entity-group') {
        add(entities, id, {
          name: fields.name || null,
          type: fields['entity-type'] || null,
          url: fields['url-name'] || null,
        });
      } else if (g === 'issue-group') {
        const ruleId = fields['issue-type'] ?? null;
        const type = ruleId === null ? undefined : issueTypes.get(ruleId);
        const entity = fields.entity === undefined ? undefined : entities.get(fields.entity);
        const isParameter =
          entity?.type != null && PARAMETER_ENTITY_TYPES.has(entity.type.toLowerCase());
        emit(
          buildFinding('appscan', {
            ruleId,
            name: type?.name ?? ruleId,
            severity: mapSeverity('appscan', fields.severity ?? null),
            cwe: parseCwe(fields.cwe ?? null) ?? type?.cwe ?? null,
            url:
              (fields.url === undefined ? undefined : urls.get(fields.url)) ?? entity?.url ?? null,
            parameter: isParameter ? entity.name : null,
            evidence: fields.reasoning ?? null,
          }),
        );
      }
      id = null;
    },
  };
};

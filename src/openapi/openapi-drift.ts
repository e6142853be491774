/**
 * How the committed docs/openapi.json is written, and what `npm run openapi -- --check` says when it
 * no longer matches the code: which operations and schemas differ, then the first differing line.
 */
const MAX_LISTED = 15;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The committed form: two-space indent, the document's own key order, a trailing newline. */
export function serializeOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

type Json = Record<string, unknown>;

const asObject = (value: unknown): Json =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};

/** `label → JSON text` for every operation (`POST /rest/tasks/queueScan`) and every component. */
function entries(document: Json): Map<string, string> {
  const result = new Map<string, string>();
  for (const [path, item] of Object.entries(asObject(document.paths))) {
    for (const [method, operation] of Object.entries(asObject(item))) {
      const label = HTTP_METHODS.includes(method)
        ? `${method.toUpperCase()} ${path}`
        : `${path} ${method}`;
      result.set(label, JSON.stringify(operation));
    }
  }
  for (const [kind, map] of Object.entries(asObject(document.components))) {
    for (const [name, value] of Object.entries(asObject(map))) {
      result.set(`components.${kind}.${name}`, JSON.stringify(value));
    }
  }
  for (const [key, value] of Object.entries(document)) {
    if (key !== 'paths' && key !== 'components') result.set(key, JSON.stringify(value));
  }
  return result;
}

function firstDifferentLine(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  const show = (text: string | undefined) =>
    text === undefined ? '(end of file)' : JSON.stringify(text.slice(0, 100));
  return `first difference at line ${line + 1}: committed ${show(a[line])}, code ${show(b[line])}`;
}

/** Lines that tell a reader what changed; empty when the two texts are identical. */
export function describeDrift(committed: string, generated: string): string[] {
  if (committed === generated) return [];
  let before: Map<string, string>;
  try {
    before = entries(asObject(JSON.parse(committed)));
  } catch {
    return ['the committed file is not valid JSON'];
  }
  const after = entries(asObject(JSON.parse(generated)));
  const changes: string[] = [];
  for (const [label, text] of after) {
    if (!before.has(label)) changes.push(`+ ${label} (only in the code)`);
    else if (before.get(label) !== text) changes.push(`~ ${label} (changed)`);
  }
  for (const label of before.keys()) {
    if (!after.has(label)) changes.push(`- ${label} (only in the committed file)`);
  }
  const listed = changes.slice(0, MAX_LISTED);
  if (changes.length > MAX_LISTED) listed.push(`… and ${changes.length - MAX_LISTED} more`);
  if (changes.length === 0) listed.push('same content; key order or formatting differs');
  return [...listed, firstDifferentLine(committed, generated)];
}

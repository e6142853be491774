/**
 * The metric names a PromQL expression selects: what is left once strings, Grafana variables,
 * comments, label matchers, ranges, grouping label lists, function names, keywords and numbers are
 * taken out. Enough for the expressions of a dashboard and of alert rules; not a full parser.
 */

/** Operators and modifiers that look like names (functions are recognised by their `(`). */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'start',
  'end',
  'inf',
  'nan',
]);

export function promqlMetricNames(expr: string): string[] {
  const rest = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, '')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  // A name starts where no word character, dot or colon precedes it (so not the `m` of `5m`).
  for (const [, name, call] of rest.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(<selector>, label)`'s
 * selector, `query_result(<expr>)`'s expression; `label_names()` and `metrics(re)` select none.
 */
export function variableQueryExpr(query: string): string {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(query);
  if (labelValues) return labelValues[1];
  const result = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  if (result) return result[1];
  if (/^\s*(?:label_names|metrics|label_values)\(/.test(query)) return '';
  return query;
}

/** Metric families of a Prometheus text exposition, by name, from its `# TYPE` lines. */
export function exposedFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(name, type);
  return families;
}

/**
 * Whether `name` is a series of an exposed family: the family itself, or a histogram's
 * `_bucket`/`_sum`/`_count`, a summary's `_sum`/`_count`.
 */
export function isExposed(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const suffix = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!suffix) return false;
  const type = families.get(suffix[1]);
  return type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket');
}

/** The label names an expression matches on, per metric, and groups by (`by`/`on` lists). */
export function promqlLabelNames(expr: string): {
  matchers: { metric: string; labels: string[] }[];
  grouping: string[];
} {
  const quoted = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
  const matchers = [
    ...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{((?:[^}"']|"(?:[^"\\]|\\.)*")*)\}/g),
  ].map(([, metric, body]) => ({
    metric,
    labels: [...body.replace(quoted, '""').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map(
      ([, label]) => label,
    ),
  }));
  const grouping = [
    ...expr
      .replace(quoted, '""')
      .matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/gi),
  ].flatMap(([, list]) =>
    list
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean),
  );
  return { matchers, grouping };
}

/** The label names each sample name of an exposition carries. */
export function exposedLabels(text: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const [, name, body] of text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/gm)) {
    const set = labels.get(name) ?? new Set<string>();
    for (const [, label] of (body ?? '').matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)) set.add(label);
    labels.set(name, set);
  }
  return labels;
}

/**
 * ThreadFix's ApplicationCriticality: ids and names as its database shipped them (and its REST API
 * sends them). An application's `criticality` column holds the id; new applications are Low.
 */
export const CRITICALITIES: Readonly<Record<number, string>> = Object.freeze({
  1: 'Low',
  2: 'Medium',
  3: 'High',
  4: 'Critical',
});

export const DEFAULT_CRITICALITY = 1;

/** ThreadFix's `applicationCriticality` object. */
export function criticalityJson(id: number): { id: number; name: string } {
  return { id, name: CRITICALITIES[id] ?? CRITICALITIES[DEFAULT_CRITICALITY] };
}

export function isCriticality(id: number): boolean {
  return Number.isInteger(id) && id in CRITICALITIES;
}

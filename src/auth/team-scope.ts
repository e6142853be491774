/**
 * Per-team access: an API key may be limited to a set of teams (ThreadFix scopes keys by team), and
 * then reaches only those teams' applications and their tasks, scan configs, scans, findings and
 * imports. Out-of-scope resources answer exactly as missing ones do (same status, same message) and
 * change nothing, so a scoped key learns nothing about them (docs/security.md).
 */
import { AuthenticatedCaller } from './authenticated-caller';

/** What scoping needs of a caller: its teams (null = every team). */
export type TeamScope = Pick<AuthenticatedCaller, 'teamIds'>;

/** The scope of the system itself (the reaper, the CLI, imports): every team. */
export const EVERY_TEAM: TeamScope = Object.freeze({ teamIds: null });

export function reachesTeam(caller: TeamScope, teamId: number): boolean {
  return caller.teamIds === null || caller.teamIds.includes(teamId);
}

/** The SQL parameter of the scope fragments (team-scope.repository.ts): null for every team. */
export function teamScopeParam(caller: TeamScope): number[] | null {
  return caller.teamIds === null ? null : [...caller.teamIds];
}

/** Whether `inner` reaches no team that `outer` does not: a key cannot widen its own scope. */
export function scopeWithin(
  inner: readonly number[] | null,
  outer: readonly number[] | null,
): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  return inner.every((teamId) => outer.includes(teamId));
}

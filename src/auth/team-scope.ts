/**
 * Per-team access: an API key may be limited to a set of teams (ThreadFix scopes keys by team), and
 * then reaches only those teams' applications and their tasks, scans and findings. Out-of-scope
 * resources answer exactly as missing ones do (404), so a scoped key learns nothing about them.
 */
import { AuthenticatedCaller } from './authenticated-caller';

type Scoped = Pick<AuthenticatedCaller, 'teamIds'>;

export function reachesTeam(caller: Scoped, teamId: number): boolean {
  return caller.teamIds === null || caller.teamIds.includes(teamId);
}

/**
 * The SQL parameter for `($n::int[] IS NULL OR <team_id column> = ANY($n::int[]))`: null for a key
 * that reaches every team.
 */
export function teamScopeParam(caller: Scoped): number[] | null {
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

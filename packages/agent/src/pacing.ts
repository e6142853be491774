/**
 * Server-driven pacing: scanqueue tells the agent how long to wait before its next requestTask
 * (X-Scanqueue-Poll-Interval, seconds: 0 after a task and after a wait that ran out, its
 * POLL_INTERVAL_SECONDS after an immediate "No task found.", longer when it is too busy to let
 * polls wait). The agent obeys within its own bounds:
 * never below 0, never above its ceiling (pollIntervalMaxSeconds), and jittered so that a fleet
 * told the same interval at the same moment (a restart, a burst of empty answers) drifts apart.
 */

/** The header, as scanqueue sends it. */
export const POLL_INTERVAL_HEADER = 'x-scanqueue-poll-interval';
/** The long poll's wait, sent as a header: a server that does not know it ignores it (a form field might be refused). */
export const WAIT_HEADER = 'X-Scanqueue-Wait';

/** A wait is drawn from [interval, interval × (1 + JITTER)]: never earlier than the server asked. */
const JITTER = 0.25;
/** An interval the ceiling cuts is drawn from [ceiling × CEILING_BAND, ceiling]. */
const CEILING_BAND = 0.8;

/**
 * The header's seconds, or undefined when it is missing or not a plain non-negative number (the
 * agent then paces itself by its backoff, as with a server that sends none).
 */
export function parsePollInterval(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\s*\d{1,9}(\.\d+)?\s*$/.test(value))
    return undefined;
  return Number(value);
}

/**
 * How long to wait (ms) after an answer that asked for `intervalSeconds`, at most `ceilingSeconds`.
 * Drawn uniformly from [interval, 1.25 × interval], cut at the ceiling; an interval at or near the
 * ceiling is drawn from the ceiling's last fifth instead, so that agents the ceiling binds do not
 * all poll at the ceiling's exact beat.
 */
export function pacedDelayMs(
  intervalSeconds: number,
  ceilingSeconds: number,
  random: () => number = Math.random,
): number {
  const interval = Math.min(Math.max(0, intervalSeconds), ceilingSeconds) * 1000;
  const ceiling = ceilingSeconds * 1000;
  const low = Math.min(interval, ceiling * CEILING_BAND);
  const high = Math.min(interval * (1 + JITTER), ceiling);
  return low + random() * (high - low);
}

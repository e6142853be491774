/**
 * Where instances share their rate-limit counts: PostgreSQL (default) or Redis (REDIS_URL). A
 * store only adds and reads whole batches, so an instance's cost is one round trip per sync (about
 * a second, or sooner when a budget runs low), never one per request.
 */

/** One minute of one bucket: windows are minutes since the epoch. */
export const WINDOW_MS = 60_000;

export interface WindowIncrement {
  bucket: string;
  window: number;
  /** Requests this instance let through since its last sync (0: only read the totals). */
  hits: number;
}

/** A bucket's totals over every instance: its window (this batch included) and the one before. */
export interface WindowTotals {
  hits: number;
  previous: number;
}

export interface CounterStore {
  /** For logs: `PostgreSQL` or `Redis`. */
  readonly name: string;
  /**
   * Adds each increment and answers the totals, in the order given. A batch holds each
   * (bucket, window) at most once.
   */
  add(increments: readonly WindowIncrement[]): Promise<WindowTotals[]>;
  /** Forgets windows before `window` (a store that expires them itself does nothing). */
  prune(window: number): Promise<void>;
  close(): Promise<void>;
}

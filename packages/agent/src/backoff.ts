/**
 * Poll backoff for scan agents: exponential, with full jitter between the floor and the current
 * ceiling. Many agents polling one empty queue (or one restarting server) spread out instead of
 * arriving in waves, and no wait is shorter than the configured minimum or longer than the maximum.
 */
export interface BackoffStep {
  /** How long to wait now, in milliseconds. */
  delayMs: number;
  /** The upper bound the delay was drawn from (grows ×2 per consecutive step, up to the maximum). */
  ceilingMs: number;
  /** Consecutive steps since the last reset, counting this one (1, 2, …). */
  attempt: number;
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(minMs > 0) || !(maxMs >= minMs))
      throw new RangeError(`backoff needs 0 < min <= max (got ${minMs}, ${maxMs})`);
  }

  /**
   * The n-th consecutive wait is uniform in [min, min(max, min·2^n)]: the first already jittered
   * (between min and 2·min), so agents started together drift apart from the first empty poll.
   */
  next(): BackoffStep {
    this.attempt++;
    // 2 ** attempt overflows to Infinity long after the ceiling reached max; min() keeps it finite.
    const ceilingMs = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    const delayMs = this.minMs + this.random() * (ceilingMs - this.minMs);
    return { delayMs, ceilingMs, attempt: this.attempt };
  }

  /** After a task (or any success): the next wait starts from the minimum again. */
  reset(): void {
    this.attempt = 0;
  }
}

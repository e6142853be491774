/**
 * The one shape of every hand-written background loop (reaper, outbox relay, outbox pruner, the
 * import sweep): a round, then a stoppable wait; a round that reports more work runs again at once;
 * a failed round is logged and retried after a jittered, growing delay. stop() cuts the wait short
 * and resolves once the round in progress has ended, so a service's shutdown awaits it.
 * Free of Nest (unit-tested alone): its owner passes its logger.
 */
import { retryDelayMs } from './backoff';

export interface PeriodicLoopOptions {
  /** Names the loop in its log lines. */
  name: string;
  /** The owning service's logger. */
  logger: { warn(message: string): void };
  /** Wait after a round that found no more work. */
  intervalMs: number;
  /** The first round runs at start (default) or after one interval. */
  runAtStart?: boolean;
  /** Wait after the n-th failed round in a row; default: from the interval (at least 1 s), doubling. */
  failureDelayMs?: (failures: number) => number;
  /** Called for each failed round instead of the default log line (1st and every 20th in a row). */
  onFailure?: (error: unknown, failures: number) => void;
}

/** A round: resolves true when there is more work to do right away, false (or nothing) when idle. */
export type LoopRound = () => Promise<boolean | void>;

export class PeriodicLoop {
  private stopped = false;
  private wake?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly round: LoopRound,
    private readonly options: PeriodicLoopOptions,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.run();
  }

  /** Ends the loop: the wait ends now, the round in progress is awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  /** Ends the current wait early (new work is known to be there). */
  poke(): void {
    this.wake?.();
  }

  /** A wait that stop() and poke() cut short; also for a round's own pauses. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Never what keeps the process alive: shutdown stops the loop.
      const timer = setTimeout(resolve, ms).unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.wake = undefined));
  }

  private async run(): Promise<void> {
    let failures = 0;
    if (this.options.runAtStart === false) await this.sleep(this.options.intervalMs);
    while (!this.stopped) {
      let more = false;
      try {
        more = (await this.round()) === true;
        failures = 0;
      } catch (error) {
        failures++;
        this.reportFailure(error, failures);
        await this.sleep(this.failureDelay(failures));
        continue;
      }
      if (!more) await this.sleep(this.options.intervalMs);
    }
  }

  private failureDelay(failures: number): number {
    if (this.options.failureDelayMs) return this.options.failureDelayMs(failures);
    const base = Math.max(1_000, this.options.intervalMs);
    return retryDelayMs(failures, base, Math.max(base, 60_000));
  }

  private reportFailure(error: unknown, failures: number): void {
    if (this.options.onFailure) return this.options.onFailure(error, failures);
    if (failures === 1 || failures % 20 === 0)
      this.options.logger.warn(
        `${this.options.name} failed (${failures} in a row): ${String(error)}`,
      );
  }
}

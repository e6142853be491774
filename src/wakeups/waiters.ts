/**
 * The waiting agents of this instance, per scanner, in arrival order. A task queued for scanner S
 * wakes ONE waiter of S (the longest waiting): no thundering herd. A waiter holds no database
 * connection: a promise, and a timer or a place on a shared beat.
 *
 * No lost wake-up, given the caller's order (register, then claim, then await if empty): a task
 * committed after the claim began notifies after the waiter was registered, so it wakes this
 * waiter or another waiter of S, which then claims. A woken waiter whose claim got a task (maybe
 * another task than the one that woke it) hands the wake on (`settle('claimed')`), as does one
 * whose agent went away before it could claim. `wakeAll` (the listener reconnected: notifications may
 * have been lost) and `shutdown` answer every waiter.
 */
import type { EventEmitter } from 'node:events';

/**
 * How a wait ended: a task may be there (claim again), or not (answer "No task found."); a wait
 * the caller no longer needs (its claim got a task) is 'withdrawn'.
 */
export type WakeOutcome = 'woken' | 'timeout' | 'shutdown' | 'busy' | 'aborted' | 'withdrawn';

/** What the caller's claim after (or instead of) the wait found. */
export type ClaimAfterWait = 'claimed' | 'empty' | 'skipped';

/**
 * The agent behind a wait leaving (its connection closed before the answer). Not an AbortSignal:
 * making one and listening on it (an EventTarget) was about a twentieth of the server's CPU per
 * re-poll of an idle long-polling fleet (bench row 7b's profile); a listener on the response's
 * 'close' is what the signal was driven by anyway.
 */
export interface Departure {
  /** The agent is gone already. */
  readonly departed: boolean;
  /** Calls `listener` once the agent leaves; the function returned stops listening. */
  listen(listener: () => void): () => void;
}

/** The Departure an emitter's 'close' (an HTTP response's) signals; `departed` tells the state. */
export function departureOnClose(emitter: EventEmitter, departed: () => boolean): Departure {
  return {
    get departed() {
      return departed();
    },
    listen(listener) {
      emitter.once('close', listener);
      return () => emitter.off('close', listener);
    },
  };
}

/** One registered wait. */
export interface Wait {
  /** Resolves once, with how the wait ended. */
  readonly outcome: Promise<WakeOutcome>;
  /**
   * The caller is done with this wait, after its claim: 'claimed' (it got a task), 'empty' (it
   * got none), or 'skipped' (it did not claim: its agent went away). A pending wait is withdrawn;
   * a wait a notification woke hands that wake to the next waiter of its scanner unless the
   * claim came back empty (then the task it announced was taken: no herd).
   */
  settle(claim: ClaimAfterWait): void;
}

interface Waiter {
  readonly scanners: readonly string[];
  readonly since: number;
  resolve(outcome: WakeOutcome): void;
  pending: boolean;
  /** The scanner whose notification woke it. */
  wokenBy?: string;
  timer?: NodeJS.Timeout;
  /** The beat it ends on (a long wait), instead of a timer of its own. */
  beat?: number;
  detach?: () => void;
}

/**
 * A wait this long or longer ends on the last shared beat (a multiple of BEAT_MS) at or before its
 * deadline, not on a timer of its own: an idle fleet's waits then run out a few dozen at a time and
 * its re-polls come back together, instead of waking the server twice per re-poll. Bench row 7b
 * (10,000 agents, 30 s waits): 14-16.6 % of a core with a timer each, 10.4-10.65 % with 100 ms
 * beats. Longer beats batch more but make a task's pickup wait behind a beat's batch: 250 ms read
 * 9 % and a 51 ms p99 pickup (7a), 1 s 10.6 % and 81 ms. Shorter waits keep a timer of their own.
 */
const BEAT_MS = 100;
const BEAT_FROM_MS = 10_000;

export interface WaitersEvents {
  /** A wait ended: its outcome and how long it waited (ms). */
  ended(outcome: WakeOutcome, waitedMs: number): void;
}

export class Waiters {
  /** Insertion-ordered sets: the first pending waiter of a scanner is its longest waiting. */
  private readonly byScanner = new Map<string, Set<Waiter>>();
  private pendingCount = 0;
  private closed = false;
  /** Long waits by the beat (a multiple of BEAT_MS on performance.now()'s clock) they end on. */
  private readonly beats = new Map<number, Set<Waiter>>();
  private beatTimer?: NodeJS.Timeout;
  private armedBeat?: number;

  constructor(
    private readonly maxWaiters: number,
    private readonly events: WaitersEvents = { ended: () => undefined },
  ) {}

  /** Waiters not yet answered. */
  get size(): number {
    return this.pendingCount;
  }

  /**
   * Registers a wait for a task of one of `scanners`, for at most `timeoutMs`. Refused at once
   * ('busy') beyond the cap, ('shutdown') once shut down; 'aborted' when its agent departs.
   */
  register(scanners: readonly string[], timeoutMs: number, departure?: Departure): Wait {
    const unique = [...new Set(scanners)];
    const refusal: WakeOutcome | undefined = this.closed
      ? 'shutdown'
      : departure?.departed
        ? 'aborted'
        : this.pendingCount >= this.maxWaiters || unique.length === 0
          ? 'busy'
          : undefined;
    if (refusal) {
      this.events.ended(refusal, 0);
      return { outcome: Promise.resolve(refusal), settle: () => undefined };
    }
    let resolveOutcome!: (outcome: WakeOutcome) => void;
    const outcome = new Promise<WakeOutcome>((resolve) => (resolveOutcome = resolve));
    const waiter: Waiter = {
      scanners: unique,
      since: Date.now(),
      pending: true,
      resolve: resolveOutcome,
    };
    for (const scanner of unique) {
      let set = this.byScanner.get(scanner);
      if (!set) this.byScanner.set(scanner, (set = new Set()));
      set.add(waiter);
    }
    this.pendingCount++;
    if (timeoutMs >= BEAT_FROM_MS) this.joinBeat(waiter, performance.now() + timeoutMs);
    else waiter.timer = setTimeout(() => this.end(waiter, 'timeout'), Math.max(0, timeoutMs));
    if (departure) waiter.detach = departure.listen(() => this.end(waiter, 'aborted'));
    return {
      outcome,
      settle: (claim) => {
        const wokenBy = waiter.wokenBy;
        waiter.wokenBy = undefined;
        if (waiter.pending) this.end(waiter, 'withdrawn');
        else if (wokenBy !== undefined && claim !== 'empty') this.wakeOne(wokenBy);
      },
    };
  }

  /** A task of `scanner` was queued: wakes its longest-waiting waiter. False when none waits. */
  wakeOne(scanner: string): boolean {
    const set = this.byScanner.get(scanner);
    const first = set?.values().next();
    if (!first || first.done) return false;
    first.value.wokenBy = scanner;
    this.end(first.value, 'woken');
    return true;
  }

  /** Wakes every waiter (the listener reconnected: they claim again). */
  wakeAll(): number {
    return this.endAll('woken');
  }

  /** Answers every waiter 'shutdown' and refuses new ones. */
  shutdown(): number {
    this.closed = true;
    return this.endAll('shutdown');
  }

  private endAll(outcome: WakeOutcome): number {
    const all = new Set<Waiter>();
    for (const set of this.byScanner.values()) for (const waiter of set) all.add(waiter);
    for (const waiter of all) this.end(waiter, outcome);
    return all.size;
  }

  /** `deadline`: on performance.now()'s clock, which a change of the wall clock does not move. */
  private joinBeat(waiter: Waiter, deadline: number): void {
    const beat = Math.floor(deadline / BEAT_MS) * BEAT_MS;
    let set = this.beats.get(beat);
    if (!set) this.beats.set(beat, (set = new Set()));
    set.add(waiter);
    waiter.beat = beat;
    if (this.armedBeat === undefined || beat < this.armedBeat) this.armBeat(beat);
  }

  private armBeat(beat: number): void {
    clearTimeout(this.beatTimer);
    this.armedBeat = beat;
    this.beatTimer = setTimeout(() => this.endBeats(), Math.max(0, beat - performance.now()));
  }

  /** Ends the waits whose beat has come; then waits for the earliest beat left. */
  private endBeats(): void {
    this.armedBeat = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const [beat, set] of this.beats) {
      if (beat > now) next = Math.min(next, beat);
      else for (const waiter of set) this.end(waiter, 'timeout');
    }
    if (next !== Infinity) this.armBeat(next);
  }

  private end(waiter: Waiter, outcome: WakeOutcome): void {
    if (!waiter.pending) return;
    waiter.pending = false;
    for (const scanner of waiter.scanners) {
      const set = this.byScanner.get(scanner);
      set?.delete(waiter);
      if (set?.size === 0) this.byScanner.delete(scanner);
    }
    this.pendingCount--;
    clearTimeout(waiter.timer);
    this.leaveBeat(waiter);
    waiter.detach?.();
    this.events.ended(outcome, Date.now() - waiter.since);
    waiter.resolve(outcome);
  }

  private leaveBeat(waiter: Waiter): void {
    if (waiter.beat === undefined) return;
    const set = this.beats.get(waiter.beat);
    set?.delete(waiter);
    if (set?.size !== 0) return;
    this.beats.delete(waiter.beat);
    if (this.beats.size === 0) {
      clearTimeout(this.beatTimer);
      this.armedBeat = undefined;
    }
  }
}

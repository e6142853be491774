/**
 * "Nothing queued for scanner S", known without asking the database (issue 15 item 3). After a
 * claim for S found nothing, the caller marks S empty with the notification sequence it read
 * BEFORE its claim began; the mark is refused if a notification for S (or a reconnect of the
 * listener) came since, since the claim may have missed that task. A notification for S, a
 * reconnect or disconnect, or `forget` (pause/resume of a scanner queue, a delayed task due)
 * clears it; and a mark older than `maxAgeMs` no longer counts, so a missed notification heals.
 *
 * A claim sees only its caller's part of a queue (an API key limited to teams), so a mark is kept
 * per scope: `EVERY_SCOPE` (the claim saw every task of S) also answers for any narrower scope,
 * a narrower scope's mark only for itself. A notification for S clears all of S's marks.
 */
/** Distinct scanner names remembered (there are a handful). */
const MAX_SCANNERS = 10_000;
/** Distinct scopes marked per scanner (API keys limited to teams); beyond, the scanner's go. */
const MAX_SCOPES = 1_000;
/** Delayed tasks' due times remembered per scanner; beyond, the latest go (marks' age heals). */
const MAX_DUE_TIMES = 1_000;

/** The scope of a claim that saw every task (an API key of every team). */
export const EVERY_SCOPE = '';

export class EmptyQueues {
  /** Bumped by every event that may make a queue non-empty. */
  private sequence = 0;
  /** Sequence of the last notification per scanner. */
  private readonly lastNotified = new Map<string, number>();
  /** Sequence of the last (re)connection or disconnection: marks older than it are void. */
  private lastReset = 0;
  /** When each scanner was marked empty (ms), per scope. */
  private readonly marks = new Map<string, Map<string, number>>();
  /** When delayed tasks of each scanner become claimable (ms, ascending). */
  private readonly dueTimes = new Map<string, number[]>();
  private connected = false;

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The sequence to pass to `markEmpty`: read before the claim begins. */
  snapshot(): number {
    return this.connected ? this.sequence : -1;
  }

  /** A claim for `scanners` within `scope` that began at `snapshot` found nothing. */
  markEmpty(scanners: readonly string[], snapshot: number, scope = EVERY_SCOPE): void {
    if (this.maxAgeMs <= 0 || !this.connected || snapshot < this.lastReset) return;
    const at = this.now();
    for (const scanner of scanners) {
      if ((this.lastNotified.get(scanner) ?? -1) > snapshot) continue;
      let scopes = this.marks.get(scanner);
      if (!scopes) this.marks.set(scanner, (scopes = new Map()));
      if (scopes.size >= MAX_SCOPES) scopes.clear();
      scopes.set(scope, at);
    }
  }

  /**
   * True when every one of `scanners` is freshly known empty within `scope` (and the listener is
   * connected).
   */
  knownEmpty(scanners: readonly string[], scope = EVERY_SCOPE): boolean {
    if (!this.connected || scanners.length === 0) return false;
    const now = this.now();
    const oldest = now - this.maxAgeMs;
    return scanners.every((scanner) => {
      if (this.becameDue(scanner, now)) return false;
      const scopes = this.marks.get(scanner);
      return (
        scopes !== undefined &&
        ((scopes.get(EVERY_SCOPE) ?? -Infinity) > oldest ||
          (scope !== EVERY_SCOPE && (scopes.get(scope) ?? -Infinity) > oldest))
      );
    });
  }

  /**
   * A task of `scanner` was queued to be claimable from `at` (ms; its not_before): from then on
   * no mark of the scanner counts, whatever timer was to say so (a wake-up's timer fires late).
   */
  delayed(scanner: string, at: number): void {
    let times = this.dueTimes.get(scanner);
    if (!times) {
      if (this.dueTimes.size >= MAX_SCANNERS) this.dueTimes.clear();
      this.dueTimes.set(scanner, (times = []));
    }
    let index = times.length;
    while (index > 0 && times[index - 1] > at) index--;
    times.splice(index, 0, at);
    if (times.length > MAX_DUE_TIMES) times.pop();
  }

  /** A delayed task of `scanner` is due by `now`: its marks go (as a notification's would). */
  private becameDue(scanner: string, now: number): boolean {
    const times = this.dueTimes.get(scanner);
    if (!times || times[0] > now) return false;
    while (times.length > 0 && times[0] <= now) times.shift();
    if (times.length === 0) this.dueTimes.delete(scanner);
    this.notified(scanner);
    return true;
  }

  /** A task of `scanner` was queued. */
  notified(scanner: string): void {
    this.lastNotified.set(scanner, ++this.sequence);
    this.marks.delete(scanner);
    // Bounded: scanner names come from the database. Forgetting them voids the claims under way.
    if (this.lastNotified.size > MAX_SCANNERS) {
      this.lastNotified.clear();
      this.lastReset = ++this.sequence;
    }
  }

  /** Clears the marks of `scanners` (all when omitted), e.g. a scanner queue paused or resumed. */
  forget(scanners?: readonly string[]): void {
    if (!scanners) {
      this.lastReset = ++this.sequence;
      this.marks.clear();
      return;
    }
    for (const scanner of scanners) this.notified(scanner);
  }

  /** The listener's LISTEN is in place (true) or its connection was lost (false). */
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.forget();
  }

  /** Scanners currently marked (fresh or not): a metric's and a test's view. */
  get markedCount(): number {
    return this.marks.size;
  }
}

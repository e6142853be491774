/**
 * "Nothing queued for scanner S", known without asking the database (issue 15 item 3). After a
 * claim for S found nothing, the caller marks S empty with the notification sequence it read
 * BEFORE its claim began; the mark is refused if a notification for S (or a reconnect of the
 * listener) came since, since the claim may have missed that task. A notification for S, a
 * reconnect or disconnect, or `forget` (pause/resume of a scanner queue, a delayed task due)
 * clears it; and a mark older than `maxAgeMs` no longer counts, so a missed notification heals.
 */
/** Distinct scanner names remembered (there are a handful). */
const MAX_SCANNERS = 10_000;

export class EmptyQueues {
  /** Bumped by every event that may make a queue non-empty. */
  private sequence = 0;
  /** Sequence of the last notification per scanner. */
  private readonly lastNotified = new Map<string, number>();
  /** Sequence of the last (re)connection or disconnection: marks older than it are void. */
  private lastReset = 0;
  /** When each scanner was marked empty (ms). */
  private readonly marks = new Map<string, number>();
  private connected = false;

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The sequence to pass to `markEmpty`: read before the claim begins. */
  snapshot(): number {
    return this.connected ? this.sequence : -1;
  }

  /** A claim for `scanners` that began at `snapshot` found nothing. */
  markEmpty(scanners: readonly string[], snapshot: number): void {
    if (this.maxAgeMs <= 0 || !this.connected || snapshot < this.lastReset) return;
    const at = this.now();
    for (const scanner of scanners)
      if ((this.lastNotified.get(scanner) ?? -1) <= snapshot) this.marks.set(scanner, at);
  }

  /** True when every one of `scanners` is freshly known empty (and the listener is connected). */
  knownEmpty(scanners: readonly string[]): boolean {
    if (!this.connected || scanners.length === 0) return false;
    const oldest = this.now() - this.maxAgeMs;
    return scanners.every((scanner) => (this.marks.get(scanner) ?? -Infinity) > oldest);
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

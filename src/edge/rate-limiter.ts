/**
 * Rate limits shared by every instance at the cost of one store round trip per sync, not per
 * request. Each instance counts in memory and syncs its counts with the shared store (PostgreSQL or
 * Redis) about once a second: a sync adds what it let through and reads back every instance's
 * totals. Budgets are per minute over a sliding window (the previous minute's total weighted by
 * how much of it is still in the last 60 s, plus this minute's), so a limited client stays limited
 * across the turn of the minute.
 *
 * Between syncs an instance spends at most 1/LOCAL_SHARE of what remained at the last sync, then
 * waits for the next sync (which starts at once, batched with every other waiting bucket): several
 * instances together overshoot a budget by at most a few requests. A bucket this instance has no
 * count for (new, or evicted to bound memory) is read from the store before its first request, so
 * flooding the memory with new addresses cannot give a limited key a fresh budget. When the store
 * fails, each instance counts alone until it is back.
 */
import { CounterStore, WINDOW_MS, WindowIncrement } from './counter-store';

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export const SYNC_INTERVAL_MS = 1000;
/** Counts read longer ago than this may miss another instance's requests. */
const FRESH_MS = 2 * SYNC_INTERVAL_MS;
const LOCAL_SHARE = 8;
/** A request that has waited this many syncs is decided on what is known (never reached in tests). */
const MAX_SYNC_ROUNDS = 64;
/** Eviction brings the map down to this share of its bound, so it runs once per many new buckets. */
const EVICT_TO = 0.9;

interface Bucket {
  readonly key: string;
  window: number;
  /** Every instance's total of `window` at the last sync (this one's synced requests included). */
  known: number;
  /** Every instance's total of the window before. */
  previous: number;
  /** Requests let through since the last sync, not sent yet. */
  pending: number;
  /** Requests of `window` in the sync under way. */
  inFlight: number;
  /** When `known` was read (0: not yet in this window). */
  syncedAt: number;
  /** False until the store has been asked once: only then is `previous` known. */
  synced: boolean;
}

const ALLOWED: RateVerdict = { allowed: true };
const SYNC = Symbol('sync');

const windowOf = (now: number) => Math.floor(now / WINDOW_MS);

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly dirty = new Set<Bucket>();
  private readonly wanted = new Set<Bucket>();
  /** Requests of windows that ended before their bucket's sync: sent with the next one. */
  private leftovers: WindowIncrement[] = [];
  private waiters: (() => void)[] = [];
  private syncing?: Promise<void>;
  /** The store failed its last sync: count on this instance alone until it answers again. */
  private alone = false;
  /** Every bucket was in use at the last eviction: none to evict before the next sync. */
  private evictionBlocked = false;
  private timer?: NodeJS.Timeout;
  private lastPrune = 0;

  constructor(
    private readonly store: CounterStore,
    private readonly maxBuckets: number,
    private readonly events: {
      storeDown(error: unknown): void;
      storeUp(): void;
      synced(buckets: number): void;
    },
  ) {}

  /** Buckets held in memory now (a metric; bounded by maxBuckets plus those awaiting a sync). */
  get bucketCount(): number {
    return this.buckets.size;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.periodic(), SYNC_INTERVAL_MS).unref();
  }

  /** Stops the timer and sends what is still counted. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.runSync();
  }

  /**
   * take's verdict when it needs no sync with the store (nearly every request): counted, or
   * refused. Undefined: nothing counted yet; take waits for the sync.
   */
  takeNow(key: string, limit: number): RateVerdict | undefined {
    const verdict = this.decide(this.bucketFor(key), limit, Date.now(), false);
    return verdict === SYNC ? undefined : verdict;
  }

  /** Counts one request of `key` against `limit` per minute, or refuses it. */
  async take(key: string, limit: number): Promise<RateVerdict> {
    const bucket = this.bucketFor(key);
    for (let round = 0; ; round++) {
      const verdict = this.decide(bucket, limit, Date.now(), round >= MAX_SYNC_ROUNDS);
      if (verdict !== SYNC) return verdict;
      await this.nextSync(bucket);
      // Evicted while it waited: its fresh counts go back in.
      if (this.buckets.get(key) !== bucket) this.buckets.set(key, bucket);
    }
  }

  private decide(
    bucket: Bucket,
    limit: number,
    now: number,
    noWait: boolean,
  ): RateVerdict | typeof SYNC {
    this.roll(bucket, now);
    const elapsed = (now % WINDOW_MS) / WINDOW_MS;
    const carried = bucket.previous * (1 - elapsed);
    const used = carried + bucket.known + bucket.inFlight + bucket.pending;
    if (used + 1 > limit)
      return { allowed: false, retryAfterSeconds: this.retryAfter(bucket, limit, elapsed) };
    if (!this.alone && !noWait) {
      if (!bucket.synced) return SYNC;
      const allowance =
        now - bucket.syncedAt < FRESH_MS
          ? Math.max(1, Math.floor((limit - carried - bucket.known) / LOCAL_SHARE))
          : 1;
      if (bucket.pending + bucket.inFlight + 1 > allowance) return SYNC;
    }
    bucket.pending++;
    this.dirty.add(bucket);
    return ALLOWED;
  }

  /** A new minute: this one's total becomes the previous, its unsent requests go as leftovers. */
  private roll(bucket: Bucket, now: number): void {
    const window = windowOf(now);
    if (window === bucket.window) return;
    if (bucket.pending > 0)
      this.leftovers.push({ bucket: bucket.key, window: bucket.window, hits: bucket.pending });
    bucket.previous =
      window === bucket.window + 1 ? bucket.known + bucket.inFlight + bucket.pending : 0;
    bucket.window = window;
    bucket.known = 0;
    bucket.pending = 0;
    bucket.inFlight = 0;
    bucket.syncedAt = 0;
  }

  /** Seconds until the sliding count leaves room for one more request. */
  private retryAfter(bucket: Bucket, limit: number, elapsed: number): number {
    const current = bucket.known + bucket.inFlight + bucket.pending;
    let waitWindows: number;
    if (current + 1 <= limit && bucket.previous > 0) {
      // Within this minute, once enough of the previous one has slid out.
      waitWindows = 1 - (limit - 1 - current) / bucket.previous - elapsed;
    } else {
      // In the next minute, once enough of this one has slid out.
      const share = current > 0 ? Math.max(0, 1 - (limit - 1) / current) : 0;
      waitWindows = 1 - elapsed + share;
    }
    return Math.max(1, Math.ceil((waitWindows * WINDOW_MS) / 1000));
  }

  private bucketFor(key: string): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket) {
      // Least recently used first in the map's order.
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      return bucket;
    }
    bucket = {
      key,
      window: windowOf(Date.now()),
      known: 0,
      previous: 0,
      pending: 0,
      inFlight: 0,
      syncedAt: 0,
      synced: false,
    };
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxBuckets && !this.evictionBlocked) this.evict();
    return bucket;
  }

  /**
   * Drops the least recently used buckets whose counts the store already has. Their counts are
   * not lost: a dropped bucket is read back from the store before its next request counts.
   */
  private evict(): void {
    const target = Math.floor(this.maxBuckets * EVICT_TO);
    for (const [key, bucket] of this.buckets) {
      if (this.buckets.size <= target) return;
      const unsent = bucket.pending > 0 || bucket.inFlight > 0 || this.wanted.has(bucket);
      if (unsent && !this.alone) continue;
      this.buckets.delete(key);
    }
    this.evictionBlocked = true; // until a sync has sent what blocks it
  }

  private periodic(): void {
    if (this.dirty.size > 0 || this.leftovers.length > 0) void this.runSync();
    const window = windowOf(Date.now());
    if (window !== this.lastPrune) {
      this.lastPrune = window;
      this.store.prune(window - 2).catch(() => undefined); // the next minute tries again
    }
  }

  /** Resolves after a sync that started after this call (so it carries `bucket`) has ended. */
  private nextSync(bucket: Bucket): Promise<void> {
    this.wanted.add(bucket);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    void this.runSync();
    return done;
  }

  /** One sync at a time; waiters that came during one get the next, started at once. */
  private runSync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        do {
          const waiters = this.waiters;
          this.waiters = [];
          await this.syncOnce();
          for (const resolve of waiters) resolve();
        } while (this.waiters.length > 0);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const buckets = new Set([...this.dirty, ...this.wanted]);
    this.dirty.clear();
    this.wanted.clear();
    // A minute before the previous one no longer counts anywhere.
    const oldest = windowOf(Date.now()) - 1;
    const leftovers = this.leftovers.filter((left) => left.window >= oldest);
    this.leftovers = [];
    if (buckets.size === 0 && leftovers.length === 0) return;

    // One increment per (bucket, window): a store adds each at most once per batch.
    const increments = new Map<string, WindowIncrement>();
    const add = (bucket: string, window: number, hits: number) => {
      const id = `${window}:${bucket}`;
      const existing = increments.get(id);
      if (existing) existing.hits += hits;
      else increments.set(id, { bucket, window, hits });
    };
    for (const left of leftovers) add(left.bucket, left.window, left.hits);
    const sent = [...buckets].map((bucket) => {
      const hits = bucket.pending;
      bucket.pending = 0;
      bucket.inFlight += hits;
      add(bucket.key, bucket.window, hits);
      return { bucket, window: bucket.window, hits };
    });
    const batch = [...increments.values()];
    try {
      const totals = await this.store.add(batch);
      const now = Date.now();
      const totalsOf = new Map(batch.map((inc, i) => [`${inc.window}:${inc.bucket}`, totals[i]]));
      for (const { bucket, window } of sent) {
        const total = totalsOf.get(`${window}:${bucket.key}`);
        if (!total) continue;
        if (bucket.window === window) {
          bucket.inFlight = 0;
          bucket.known = total.hits;
          bucket.previous = Math.max(bucket.previous, total.previous);
          bucket.syncedAt = now;
          bucket.synced = true;
        } else if (bucket.window === window + 1) {
          // The minute turned while this sync ran: what it read is now the previous minute.
          bucket.previous = Math.max(bucket.previous, total.hits);
          bucket.synced = true;
        }
      }
      this.evictionBlocked = false;
      if (this.alone) {
        this.alone = false;
        this.events.storeUp();
      }
      this.events.synced(batch.length);
    } catch (error) {
      // Nothing is lost: the requests are sent again with the next sync.
      for (const { bucket, window, hits } of sent) {
        if (bucket.window === window) {
          bucket.inFlight -= hits;
          bucket.pending += hits;
          this.dirty.add(bucket);
        } else if (hits > 0) this.leftovers.push({ bucket: bucket.key, window, hits });
      }
      this.leftovers.push(...leftovers);
      this.evictionBlocked = false;
      if (!this.alone) {
        this.alone = true;
        this.events.storeDown(error);
      }
    }
  }
}

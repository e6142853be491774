import { addressBucket } from './client-address';
import { CounterStore, WINDOW_MS, WindowIncrement, WindowTotals } from './counter-store';
import { RateLimiter } from './rate-limiter';

/** The shared store as a map: what PostgreSQL and Redis do, in memory (their SQL runs in e2e). */
class MemoryStore implements CounterStore {
  readonly name = 'memory';
  readonly counts = new Map<string, number>();
  batches = 0;
  failing = false;

  async add(increments: readonly WindowIncrement[]): Promise<WindowTotals[]> {
    if (this.failing) throw new Error('store down');
    this.batches++;
    return increments.map(({ bucket, window, hits }) => {
      const key = `${window}:${bucket}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + hits);
      return {
        hits: this.counts.get(key) ?? 0,
        previous: this.counts.get(`${window - 1}:${bucket}`) ?? 0,
      };
    });
  }
  async prune(): Promise<void> {}
  async close(): Promise<void> {}
}

const quiet = { storeDown: () => undefined, storeUp: () => undefined, synced: () => undefined };

async function takeMany(limiter: RateLimiter, key: string, limit: number, count: number) {
  let allowed = 0;
  for (let i = 0; i < count; i++) if ((await limiter.take(key, limit)).allowed) allowed++;
  return allowed;
}

describe('RateLimiter', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    // Ten seconds into a minute.
    jest.setSystemTime(100 * WINDOW_MS + 10_000);
  });
  afterEach(() => jest.useRealTimers());

  it('lets exactly the limit through on one instance, and says when to retry', async () => {
    const limiter = new RateLimiter(new MemoryStore(), 1000, quiet);
    expect(await takeMany(limiter, 'k:1', 30, 40)).toBe(30);
    const refused = await limiter.take('k:1', 30);
    // 50 s left of this minute, then the next request fits once 1/30 of it has slid by.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 52 });
  });

  it('answers takeNow at once when no sync is needed, and counts it as take does', async () => {
    const store = new MemoryStore();
    const limiter = new RateLimiter(store, 1000, quiet);
    // A bucket never synced must read the store first (another instance may have spent it).
    expect(limiter.takeNow('k:2', 16)).toBeUndefined();
    expect(store.batches).toBe(0);
    expect((await limiter.take('k:2', 16)).allowed).toBe(true);
    // Synced now: its local allowance (an eighth of what remained) is given without waiting.
    expect(limiter.takeNow('k:2', 16)).toEqual({ allowed: true });
    expect(limiter.takeNow('k:2', 16)).toBeUndefined(); // allowance spent: the next waits
    expect(await takeMany(limiter, 'k:2', 16, 20)).toBe(14);
    const refused = limiter.takeNow('k:2', 16);
    expect(refused).toMatchObject({ allowed: false });
    expect(store.batches).toBeGreaterThan(1);
  });

  it('keeps a limited client limited across the turn of the minute, and gives back gradually', async () => {
    const limiter = new RateLimiter(new MemoryStore(), 1000, quiet);
    expect(await takeMany(limiter, 'a:x', 60, 60)).toBe(60);
    jest.setSystemTime(101 * WINDOW_MS + 100); // the next minute has just begun
    expect((await limiter.take('a:x', 60)).allowed).toBe(false);
    jest.setSystemTime(101 * WINDOW_MS + 15_000); // a quarter of the old minute has slid out
    expect(await takeMany(limiter, 'a:x', 60, 60)).toBe(15);
  });

  it('two instances on one store share the budget, at most one over each', async () => {
    const store = new MemoryStore();
    const a = new RateLimiter(store, 1000, quiet);
    const b = new RateLimiter(store, 1000, quiet);
    let allowed = 0;
    for (let i = 0; i < 200; i++) if ((await (i % 2 ? a : b).take('k:7', 100)).allowed) allowed++;
    expect(allowed).toBeGreaterThanOrEqual(100);
    expect(allowed).toBeLessThanOrEqual(102);
  });

  it('an evicted limited bucket is read back before it counts: eviction gives no fresh budget', async () => {
    const store = new MemoryStore();
    const limiter = new RateLimiter(store, 100, quiet);
    expect(await takeMany(limiter, 'k:limited', 10, 10)).toBe(10);
    await limiter.stop(); // sent to the store
    for (let i = 0; i < 500; i++) await limiter.take(`a:${i}`, 1000);
    expect(limiter.bucketCount).toBeLessThanOrEqual(100 + 1);
    expect(await takeMany(limiter, 'k:limited', 10, 5)).toBe(0);
  });

  it('counts alone while the store fails, and sends the counts once it is back', async () => {
    const store = new MemoryStore();
    const limiter = new RateLimiter(store, 1000, quiet);
    store.failing = true;
    expect(await takeMany(limiter, 'k:2', 5, 8)).toBe(5);
    store.failing = false;
    await limiter.stop();
    expect(store.counts.get(`100:k:2`)).toBe(5);
  });

  it('costs a batch per sync, not a round trip per request', async () => {
    const store = new MemoryStore();
    const limiter = new RateLimiter(store, 1000, quiet);
    await takeMany(limiter, 'k:busy', 100_000, 5000);
    // The first request's read, then the allowance (an eighth of what remains) runs out rarely.
    expect(store.batches).toBeLessThan(10);
  });
});

describe('addressBucket', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s counts as %s', (ip, bucket) => {
    expect(addressBucket(ip)).toBe(bucket);
  });
});

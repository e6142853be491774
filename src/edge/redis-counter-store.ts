import { Redis } from 'ioredis';
import { CounterStore, WINDOW_MS, WindowIncrement, WindowTotals } from './counter-store';

const KEY_PREFIX = 'scanqueue:rate:';
/** A window is read as "the one before" during the next minute; then Redis drops it. */
const KEY_TTL_MS = 3 * WINDOW_MS;
const CONNECT_TIMEOUT_MS = 5000;

const keyOf = (bucket: string, window: number) => `${KEY_PREFIX}${window}:${bucket}`;

/**
 * Counts in Redis (REDIS_URL): one pipeline per batch (INCRBY, PEXPIRE, GET of the window before,
 * per bucket), so a sync is one round trip whatever its size. Keys expire by themselves.
 */
export class RedisCounterStore implements CounterStore {
  readonly name = 'Redis';

  private constructor(private readonly redis: Redis) {}

  /** Connected, or a startup error naming REDIS_URL (its password is never shown). */
  static async connect(url: string, onError: (error: Error) => void): Promise<RedisCounterStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A command while Redis is away fails at once: the limiter counts locally meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    redis.on('error', onError);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`REDIS_URL: cannot connect to Redis (${(error as Error).message})`);
    }
    return new RedisCounterStore(redis);
  }

  async add(increments: readonly WindowIncrement[]): Promise<WindowTotals[]> {
    if (increments.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { bucket, window, hits } of increments) {
      const key = keyOf(bucket, window);
      pipeline
        .incrby(key, hits)
        .pexpire(key, KEY_TTL_MS)
        .get(keyOf(bucket, window - 1));
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    return increments.map((_increment, i) => ({
      hits: Number(results[3 * i][1]),
      previous: Number(results[3 * i + 2][1] ?? 0),
    }));
  }

  async prune(): Promise<void> {
    // Keys carry their own expiry.
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

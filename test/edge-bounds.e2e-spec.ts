/**
 * The edge bounds (docs/security.md, "Edge bounds"), attacked as the review did: slow bodies
 * without a key, floods of random keys, a flood of addresses to evict a limited key's count, two
 * instances sharing one budget (over PostgreSQL, then over a real Redis), and health probes.
 * SQL costs are the server's count of the statements it sent to PostgreSQL (its metric
 * scanqueue_database_queries_total).
 */
import { randomBytes } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { givenClaimedTask, TASKS } from './support/agent-flow';
import { startRawUpload, ZAP_HEAD, ZAP_ITEM, ZAP_TAIL } from './support/raw-upload';
import { RedisTestServer, requireRedisServer } from './support/redis-server';
import { TestServer } from './support/test-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const APPLICATIONS = '/threadfix/rest/latest/applications';

/**
 * SQL statements the server has sent to PostgreSQL, from its metric (counted where TypeORM sends
 * every statement; the scrape's own two queue queries included). pg_stat_database's transaction
 * counts would do too, but a busy server's backends may report them up to a minute late.
 */
async function queries(t: TestServer): Promise<number> {
  return (await counters(t)).queries;
}

/** The statements above, and the round trips of rate-limit syncs among them. */
async function counters(t: TestServer): Promise<{ queries: number; syncs: number }> {
  const metrics = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
  const read = (name: string) => {
    const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1];
    if (value === undefined) throw new Error(`no ${name} in the metrics`);
    return Number(value);
  };
  return {
    queries: read('scanqueue_database_queries_total'),
    syncs: read('scanqueue_rate_limit_syncs_total'),
  };
}

/** Runs `count` calls of `task`, `concurrency` at a time; answers their results in order. */
async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** A GET of the application list with a key (or none) from a client address (X-Forwarded-For). */
async function getFrom(
  t: TestServer,
  address: string,
  key?: string,
): Promise<{ status: number; retryAfter: string | null; message: string }> {
  const response = await fetch(`${t.baseUrl}${APPLICATIONS}`, {
    headers: { 'x-forwarded-for': address, ...(key ? { authorization: `APIKEY ${key}` } : {}) },
  });
  const body = (await response.json()) as { message: string };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    message: body.message,
  };
}

async function readerKey(t: TestServer, name: string): Promise<string> {
  const res = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
    name,
    permissions: ['READ_ACCESS'],
  });
  if (res.status !== 200) throw new Error(`readerKey: ${res.status} ${res.body.message}`);
  return res.body.object.apiKey;
}

const randomKey = () => randomBytes(32).toString('base64url');

/**
 * What a sliding minute gives back to a client at its limit, `ms` after it reached it: the share
 * of the minute that has slid by (plus one for rounding).
 */
const regained = (perMinute: number, ms: number) => Math.ceil((perMinute * ms) / 60_000) + 1;

interface SlowConnection {
  kind: string;
  /** ms after the headers were sent; undefined while the server holds it open. */
  closedAfter?: number;
  /** The first line the server answered, if it answered before closing. */
  statusLine?: string;
}

/**
 * A client that sends its request head (or only part of it, for `slow-headers`), then one byte of
 * body every 500 ms, as long as the server keeps the connection (at most `maxMs`).
 */
function slowConnection(
  t: TestServer,
  kind: 'json-no-key' | 'form-no-key' | 'upload-bad-key' | 'slow-headers',
  maxMs: number,
): { connection: SlowConnection; closed: Promise<void> } {
  const { port } = new URL(t.baseUrl);
  const connection: SlowConnection = { kind };
  const heads: Record<typeof kind, string> = {
    'json-no-key':
      `POST ${TASKS}/queueScan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: 100000\r\n\r\n{"applicationId":`,
    'form-no-key':
      `POST ${TASKS}/queueScan HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: 100000\r\n\r\napplicationId=`,
    'upload-bad-key':
      `POST ${TASKS}/completeTask HTTP/1.1\r\nHost: x\r\nAuthorization: APIKEY ${randomKey()}\r\n` +
      `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\n`,
    'slow-headers': `POST ${TASKS}/queueScan HTTP/1.1\r\nHost: x\r\n`,
  };
  const socket: Socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let answer = '';
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      connection.closedAfter = Date.now() - started;
      connection.statusLine = answer.split('\r\n')[0] || undefined;
      resolve();
    });
  });
  socket.write(heads[kind]);
  const timer = setInterval(() => {
    if (Date.now() - started > maxMs) socket.destroy();
    else socket.write(kind === 'slow-headers' ? 'X' : '1');
  }, 500);
  return { connection, closed };
}

describe('slow bodies', () => {
  const BODY_TIMEOUT_S = 2;
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({ BODY_TIMEOUT_SECONDS: String(BODY_TIMEOUT_S) });
  });
  afterAll(() => t.stop());

  it('300 slow connections without a key or with a bad one are all closed within the body timeout; the server keeps answering', async () => {
    const kinds = ['json-no-key', 'form-no-key', 'upload-bad-key', 'slow-headers'] as const;
    const slow = Array.from({ length: 300 }, (_, i) => slowConnection(t, kinds[i % 4], 20_000));
    await sleep(1000);
    const heldAt1s = slow.filter((s) => s.connection.closedAfter === undefined).length;
    // The server answers everyone else meanwhile.
    expect((await fetch(`${t.baseUrl}/threadfix/health/live`)).status).toBe(200);
    await sleep((BODY_TIMEOUT_S + 1.5) * 1000 - 1000);
    const heldAfterTimeout = slow.filter((s) => s.connection.closedAfter === undefined).length;
    await Promise.all(slow.map((s) => s.closed));
    const connections = slow.map((s) => s.connection);
    const longest = Math.max(...connections.map((c) => c.closedAfter ?? Infinity));
    process.stderr.write(
      `slow bodies: held at 1 s: ${heldAt1s}/300; held at ${BODY_TIMEOUT_S + 1.5} s: ${heldAfterTimeout}/300; longest held: ${longest} ms\n`,
    );
    expect(heldAfterTimeout).toBe(0);
    expect(longest).toBeLessThan((BODY_TIMEOUT_S + 1.5) * 1000);
    const answers = (kind: string) =>
      tally(
        connections
          .filter((c) => c.kind === kind)
          .map((c) => Number(c.statusLine?.split(' ')[1] ?? 0)),
      );
    // No key (or an unknown one): refused before any body is read.
    expect(answers('json-no-key')).toEqual({ 401: 75 });
    expect(answers('upload-bad-key')).toEqual({ 401: 75 });
    // The legacy apiKey form field: the small body is read first, under the body timeout.
    expect(answers('form-no-key')).toEqual({ 408: 75 });
    expect(answers('slow-headers')).toEqual({ 408: 75 });
  }, 60_000);

  it('an authenticated upload may take longer than the body timeout as long as data keeps coming', async () => {
    const task = await givenClaimedTask(t);
    const upload = startRawUpload(t, task);
    await upload.write(ZAP_HEAD);
    for (let i = 0; i < 5; i++) {
      await sleep(1000); // 5 s in all: 2.5 times the body timeout
      await upload.write(ZAP_ITEM.repeat(10));
    }
    const done = await upload.finish(ZAP_TAIL);
    expect(done.status).toBe(200);
    expect(done.body.object).toMatchObject({ status: 3 });
  }, 30_000);

  it('a small form body with the legacy apiKey field still works', async () => {
    const res = await t.postForm<{ name: string }>(`${APPLICATIONS}`, undefined, {
      apiKey: t.adminKey,
      name: `legacy-form-${Date.now()}`,
    });
    expect(res.status).toBe(200);
  });

  it('a JSON body with no key in the header or query string is refused before it is read', async () => {
    const res = await t.postJson(`${APPLICATIONS}`, undefined, { apiKey: t.adminKey, name: 'x' });
    expect(res).toMatchObject({
      status: 401,
      body: { message: 'Authentication failed, check your API Key.' },
    });
  });
});

/**
 * One instance (or two) on one database, limits small enough to reach: 30 requests a minute per
 * key, 200 per address; addresses come from X-Forwarded-For (TRUST_PROXY=true).
 */
const LIMITS = {
  RATE_LIMIT_PER_MINUTE: '30',
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '200',
  RATE_LIMIT_MAX_BUCKETS: '1000',
  TRUST_PROXY: 'true',
  // Quiet background work, so the database's transaction count is the edge's.
  OUTBOX_POLL_INTERVAL_MS: '60000',
};

function floodTests(storeName: 'PostgreSQL' | 'Redis', extraEnv: () => Record<string, string>) {
  describe(`rate limits over ${storeName}: a flood of random keys`, () => {
    const FLOODER = '203.0.113.66';
    let t: TestServer;
    let limitedKey: string;
    let floodEnded = 0;
    beforeAll(async () => {
      t = await TestServer.start({ ...LIMITS, ...extraEnv() });
      limitedKey = await readerKey(t, 'limited');
    });
    afterAll(() => t?.stop());

    it('a key past its budget gets 429 with Retry-After, wherever it comes from', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++)
        statuses.push((await getFrom(t, '192.0.2.10', limitedKey)).status);
      expect(tally(statuses)).toEqual({ 200: 30, 429: 10 });
      const refused = await getFrom(t, '192.0.2.11', limitedKey); // another address: same key budget
      expect(refused.status).toBe(429);
      expect(refused.message).toMatch(
        /^Rate limit exceeded: 30 requests per minute for this API key; retry in \d+ seconds?\.$/,
      );
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    });

    it('5,000 requests with random keys from one address end in 429s at a bounded SQL cost', async () => {
      const before = await queries(t);
      const started = Date.now();
      const statuses = await inParallel(
        5000,
        50,
        async () => (await getFrom(t, FLOODER, randomKey())).status,
      );
      floodEnded = Date.now();
      const seconds = (floodEnded - started) / 1000;
      const sql = (await queries(t)) - before;
      const counts = tally(statuses);
      process.stderr.write(
        `${storeName}: 5,000 random keys in ${seconds.toFixed(1)} s: ${JSON.stringify(counts)}; SQL statements: ${sql}\n`,
      );
      // The address's 200 a minute (plus what the sliding minute gives back while the flood
      // lasts), one key lookup each (all unknown: 401); everything after: 429, with no lookup.
      expect(counts[401]).toBeGreaterThanOrEqual(199);
      expect(counts[401]).toBeLessThanOrEqual(200 + regained(200, seconds * 1000));
      expect(counts[429]).toBe(5000 - counts[401]);
      // The lookups, the syncs with the shared store, and the measuring itself: not 5,000.
      expect(sql).toBeLessThan(counts[401] + (storeName === 'Redis' ? 40 : 150));
    }, 120_000);

    it('a flood of new addresses that overflows the bucket memory leaves a limited key and a limited address limited', async () => {
      // The key at its limit now.
      while ((await getFrom(t, '192.0.2.10', limitedKey)).status !== 429);
      const keyLimitedAt = Date.now();
      const statuses = await inParallel(
        3000,
        50,
        async (i) =>
          (
            await getFrom(
              t,
              `2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::1`,
              randomKey(),
            )
          ).status,
      );
      expect(tally(statuses)).toEqual({ 401: 3000 });
      const metrics = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
      const buckets = Number(/^scanqueue_rate_limit_buckets (\d+)$/m.exec(metrics)?.[1]);
      // Then both hammer again: a fresh budget would let 30 and 200 through.
      const key = tally(
        await inParallel(40, 4, async () => (await getFrom(t, '192.0.2.10', limitedKey)).status),
      );
      const keyBound = regained(30, Date.now() - keyLimitedAt);
      const address = tally(
        await inParallel(300, 10, async () => (await getFrom(t, FLOODER, randomKey())).status),
      );
      const addressBound = regained(200, Date.now() - floodEnded);
      process.stderr.write(
        `${storeName}: after 3,000 new addresses: ${buckets} buckets in memory (bound 1000); ` +
          `the limited key got ${key[200] ?? 0} of 40 through (the minute gave back ${keyBound}), ` +
          `the limited address ${address[401] ?? 0} of 300 (gave back ${addressBound})\n`,
      );
      expect(buckets).toBeLessThanOrEqual(1000 + 50);
      expect(key[200] ?? 0).toBeLessThanOrEqual(keyBound);
      expect(address[401] ?? 0).toBeLessThanOrEqual(addressBound);
      // A fresh address with a good key is served.
      expect((await getFrom(t, '192.0.2.99', t.adminKey)).status).toBe(200);
    }, 120_000);
  });

  describe(`rate limits over ${storeName}: two instances`, () => {
    let a: TestServer;
    let b: TestServer;
    beforeAll(async () => {
      [a, b] = await TestServer.startCluster(2, {
        ...LIMITS,
        RATE_LIMIT_PER_MINUTE: '60',
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '100',
        ...extraEnv(),
      });
    });
    afterAll(async () => {
      await b?.stop();
      await a?.stop();
    });

    it('share one budget per key and per address', async () => {
      const key = await readerKey(a, 'shared');
      const keyStatuses = await inParallel(
        120,
        4,
        async (i) => (await getFrom(i % 2 ? b : a, `192.0.2.${20 + (i % 5)}`, key)).status,
      );
      const addressStatuses = await inParallel(
        150,
        4,
        async (i) => (await getFrom(i % 2 ? b : a, '198.51.100.7')).status,
      );
      const keyCounts = tally(keyStatuses);
      const addressCounts = tally(addressStatuses);
      process.stderr.write(
        `${storeName}, two instances: key (60/min) ${JSON.stringify(keyCounts)}; address (100/min) ${JSON.stringify(addressCounts)}\n`,
      );
      // One budget: at most one request over per instance, never the 2 × 60 of separate counts.
      expect(keyCounts[200]).toBeGreaterThanOrEqual(60);
      expect(keyCounts[200]).toBeLessThanOrEqual(62);
      expect(addressCounts[401]).toBeGreaterThanOrEqual(100);
      expect(addressCounts[401]).toBeLessThanOrEqual(102);
      // And both instances now refuse them.
      for (const server of [a, b]) {
        expect((await getFrom(server, '192.0.2.20', key)).status).toBe(429);
        expect((await getFrom(server, '198.51.100.7')).status).toBe(429);
      }
    }, 60_000);
  });
}

floodTests('PostgreSQL', () => ({}));

const REDIS_SERVER = requireRedisServer('the rate-limit tests over Redis');
const describeWithRedis = REDIS_SERVER ? describe : describe.skip;

describeWithRedis('over Redis', () => {
  const program = REDIS_SERVER ?? '';
  let redis: RedisTestServer;
  beforeAll(async () => {
    redis = await RedisTestServer.start(program);
  });
  afterAll(() => redis?.stop());

  floodTests('Redis', () => ({ REDIS_URL: redis.url }));

  it('the counts are in Redis, not in PostgreSQL, and the password is not logged', async () => {
    const t = await TestServer.start({ ...LIMITS, REDIS_URL: redis.url, LOG_LEVEL: 'log' });
    try {
      const key = await readerKey(t, 'redis');
      for (let i = 0; i < 3; i++) await getFrom(t, '192.0.2.30', key);
      await sleep(1500); // a sync
      const client = redis.client();
      try {
        await client.connect();
        const keys = await client.keys('scanqueue:rate:*');
        expect(keys.some((k) => k.endsWith(':a:192.0.2.30'))).toBe(true);
      } finally {
        client.disconnect();
      }
      expect(await t.query('SELECT * FROM rate_limit_counters')).toEqual([]);
      expect(t.output).not.toContain(redis.password);
    } finally {
      await t.stop();
    }
  });

  it('while Redis is down each instance counts alone, and nothing fails', async () => {
    const own = await RedisTestServer.start(program);
    const t = await TestServer.start({ ...LIMITS, REDIS_URL: own.url });
    try {
      const key = await readerKey(t, 'redis-down');
      expect((await getFrom(t, '192.0.2.40', key)).status).toBe(200);
      await own.stop();
      const statuses: number[] = [];
      for (let i = 0; i < 35; i++) statuses.push((await getFrom(t, '192.0.2.40', key)).status);
      // 30 a minute, counted by this instance alone: 29 more pass, then 429; never a 500.
      expect(tally(statuses)).toEqual({ 200: 29, 429: 6 });
      await sleep(1500);
      expect(t.output).toMatch(/Redis does not answer .*: rate limits are counted per instance/);
    } finally {
      await t.stop();
      await own.stop();
    }
  });
});

describe('health under a flood', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '100',
      TRUST_PROXY: 'true',
      // No background queries in the count: the outbox, the reaper and the scheduler stay quiet.
      OUTBOX_POLL_INTERVAL_MS: '60000',
      REAPER_INTERVAL_SECONDS: '0',
      SCHEDULER_INTERVAL_SECONDS: '0',
    });
  });
  afterAll(() => t.stop());

  it('costs at most a query a second, and is rate limited per address like everything else', async () => {
    // The start's own probe left a cached result; a flood within its second would need no check.
    await sleep(1100);
    // What a scrape itself costs (its gauges read the database), measured, not assumed.
    const first = await counters(t);
    const before = await counters(t);
    const scrape = before.queries - first.queries - (before.syncs - first.syncs);
    const started = Date.now();
    const statuses = await inParallel(600, 20, async (i) => {
      const route = ['/threadfix/health', '/threadfix/health/ready'][i % 2];
      // 300 probes from each of two addresses: 100 a minute each.
      const response = await fetch(`${t.baseUrl}${route}`, {
        headers: { 'x-forwarded-for': i < 300 ? '192.0.2.50' : '192.0.2.51' },
      });
      await response.arrayBuffer();
      return response.status;
    });
    const seconds = (Date.now() - started) / 1000;
    const after = await counters(t);
    const syncs = after.syncs - before.syncs;
    // What is left once the rate limit's syncs and the second scrape's own queries are out.
    const checks = after.queries - before.queries - syncs - scrape;
    process.stderr.write(
      `health: 600 probes in ${seconds.toFixed(1)} s: ${JSON.stringify(tally(statuses))}; ` +
        `database checks: ${checks}; rate-limit syncs: ${syncs}\n`,
    );
    expect(tally(statuses)).toEqual({ 200: 200, 429: 400 });
    // One database check a second at most, whatever the rate of probes.
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(checks).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  }, 60_000);
});

/**
 * src/wakeups/ on a real PostgreSQL migrated with the trigger of migration 1765800000000: a task
 * committed QUEUED wakes a waiting poll at once, one waiter per task (no herd), a rolled-back one
 * nobody; a PostgreSQL restart during waits is survived (the listener reconnects and wakes every
 * waiter, so a task queued while it was away is claimed); shutdown answers every waiter; the
 * "nothing queued" marks are cleared by a notification and expire.
 */
import { Pool, PoolClient } from 'pg';
import { Registry } from 'prom-client';
import type { Wait, WakeOutcome } from '../src/wakeups/waiters';
import { Wakeups, WakeupsConfig } from '../src/wakeups/wakeups';
import { RestartablePostgres } from './support/restartable-postgres';
import { TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const ZAP = 'OWASP Zed Attack Proxy';
const BURP = 'Burp Suite Pro';
const LONG = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A wait's outcome as it stands: undefined while it is pending. */
function tracked(outcome: Promise<WakeOutcome>) {
  const state: { outcome?: WakeOutcome; at?: number } = {};
  void outcome.then((value) => Object.assign(state, { outcome: value, at: Date.now() }));
  return state;
}

/**
 * A database the built server migrated (its trigger included), with one application, and a way
 * to queue tasks on it. These tests drive src/wakeups/ directly; the server (which owns the
 * database: its stop drops it) idles meanwhile.
 */
async function migrated(env: Record<string, string> = {}) {
  const server = await TestServer.start(env);
  const url = server.env.DATABASE_URL;
  const pool = new Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined); // a restart ends idle connections
  const [{ id: applicationId }] = (
    await pool.query<{ id: number }>(
      `INSERT INTO applications (name, team_id) SELECT 'wakeups', id FROM teams WHERE is_default RETURNING id`,
    )
  ).rows;
  const queue = (scanner: string, count = 1, runner: Pool | PoolClient = pool) =>
    runner.query(
      `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds)
       SELECT $1, $2, 1, 60 FROM generate_series(1, $3::int)`,
      [applicationId, scanner, count],
    );
  const close = async () => {
    await pool.end();
    await server.stop();
  };
  return { url, pool, queue, close };
}

function wakeups(url: string, settings: Partial<WakeupsConfig> = {}) {
  const config: WakeupsConfig = {
    POLL_WAIT_MAX_SECONDS: 30,
    POLL_MAX_WAITERS: 20_000,
    POLL_EMPTY_CACHE_MS: 5000,
    ...settings,
  };
  const registry = new Registry();
  const service = new Wakeups(config, url, registry, {
    log: () => undefined,
    warn: () => undefined,
  });
  service.start();
  return { service, registry };
}

describe('wake-ups (LISTEN/NOTIFY)', () => {
  let db: Awaited<ReturnType<typeof migrated>>;
  let service: Wakeups;
  let registry: Registry;

  beforeAll(async () => {
    db = await migrated();
  }, 120_000);

  beforeEach(async () => {
    ({ service, registry } = wakeups(db.url));
    await eventually('the LISTEN', () => service.listening);
  });

  afterEach(async () => {
    await service.stop();
  });

  afterAll(async () => {
    await db?.close();
  });

  it('wakes a waiting poll when a QUEUED task commits, not before', async () => {
    const wait = tracked(service.wait([ZAP], LONG));
    const other = tracked(service.wait([BURP], LONG));
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await db.queue(ZAP, 1, client);
    await sleep(300);
    expect(wait.outcome).toBeUndefined(); // NOTIFY is sent at commit
    await client.query('COMMIT');
    const committed = Date.now();
    client.release();
    await eventually('the wake-up', () => wait.outcome !== undefined);
    expect(wait.outcome).toBe('woken');
    console.log(`wake-up ${(wait.at as number) - committed} ms after the commit returned`);
    expect(other.outcome).toBeUndefined(); // another scanner's waiter sleeps on
  });

  it('one task wakes one waiter: 10 tasks, 100 waiters, the 10 longest waiting', async () => {
    const waits = Array.from({ length: 100 }, () => tracked(service.wait([ZAP], LONG)));
    await db.queue(ZAP, 10); // one transaction, ten notifications (the task id keeps them apart)
    await eventually('10 wake-ups', () => waits.filter((w) => w.outcome).length >= 10);
    await sleep(500); // no more come
    const woken = waits.flatMap((w, i) => (w.outcome === 'woken' ? [i] : []));
    expect(woken).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(service.waiting).toBe(90);
    const exposition = await registry.metrics();
    expect(exposition).toMatch(/^scanqueue_poll_waiters 90$/m);
    expect(exposition).toMatch(/^scanqueue_poll_waits_total\{outcome="woken"\} 10$/m);
  });

  it('a rolled-back insert wakes nobody; a task moved back to QUEUED wakes one', async () => {
    const wait = tracked(service.wait([ZAP], LONG));
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await db.queue(ZAP, 1, client);
    await client.query('ROLLBACK');
    client.release();
    const [{ id }] = (
      await db.pool.query<{ id: number }>(
        `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds)
       SELECT id, $1, 2, 60 FROM applications LIMIT 1 RETURNING id`,
        [ZAP],
      )
    ).rows;
    await db.pool.query(`UPDATE scan_queue_tasks SET status = 2 WHERE id = $1`, [id]);
    await sleep(500);
    expect(wait.outcome).toBeUndefined();
    await db.pool.query(`UPDATE scan_queue_tasks SET status = 1 WHERE id = $1`, [id]);
    await eventually('the wake-up', () => wait.outcome !== undefined);
    expect(wait.outcome).toBe('woken');
  });

  it('shutdown answers every waiter, and later polls at once', async () => {
    const waits = Array.from({ length: 50 }, (_, i) =>
      service.wait(i % 2 ? [ZAP] : [BURP, ZAP], LONG),
    );
    service.answerAll();
    expect(new Set(await Promise.all(waits))).toEqual(new Set(['shutdown']));
    expect(await service.wait([ZAP], LONG)).toBe('shutdown');
    expect(service.waiting).toBe(0);
  });

  it('a wait is cut to POLL_WAIT_MAX_SECONDS, and POLL_MAX_WAITERS answers "busy" beyond', async () => {
    const small = wakeups(db.url, { POLL_WAIT_MAX_SECONDS: 1, POLL_MAX_WAITERS: 2 });
    try {
      // (Waits registered before the LISTEN is in place are woken when it is.)
      await eventually('the LISTEN', () => small.service.listening);
      const first = small.service.wait([ZAP], LONG);
      const second = tracked(small.service.wait([ZAP], LONG));
      expect(await small.service.wait([ZAP], LONG)).toBe('busy');
      expect(await first).toBe('timeout');
      expect(small.service.waitMs(3600)).toBe(1000);
      await eventually('the second timeout', () => second.outcome !== undefined);
      expect(second.outcome).toBe('timeout');
    } finally {
      await small.service.stop();
    }
  });

  it('"nothing queued" is cleared by a notification, and expires', async () => {
    const quick = wakeups(db.url, { POLL_EMPTY_CACHE_MS: 700 });
    try {
      await eventually('the LISTEN', () => quick.service.listening);
      const snapshot = quick.service.snapshot();
      quick.service.markEmpty([ZAP, BURP], snapshot);
      expect(quick.service.knownEmpty([ZAP, BURP])).toBe(true);
      await db.queue(ZAP);
      await eventually('the notification', () => !quick.service.knownEmpty([ZAP]));
      expect(quick.service.knownEmpty([BURP])).toBe(true);
      // A claim that began before that notification may not mark it empty again.
      quick.service.markEmpty([ZAP], snapshot);
      expect(quick.service.knownEmpty([ZAP])).toBe(false);
      quick.service.markEmpty([ZAP], quick.service.snapshot());
      expect(quick.service.knownEmpty([ZAP])).toBe(true);
      await eventually('the expiry', () => !quick.service.knownEmpty([ZAP]), 5000);
      // Resuming a scanner queue forgets its mark and wakes a waiter.
      quick.service.markEmpty([BURP], quick.service.snapshot());
      const wait = quick.service.wait([BURP], LONG);
      quick.service.forget([BURP]);
      expect(await wait).toBe('woken');
      expect(quick.service.knownEmpty([BURP])).toBe(false);
    } finally {
      await quick.service.stop();
    }
  });

  it('wakeAt wakes a waiter when a delayed task becomes claimable', async () => {
    const wait = tracked(service.wait([ZAP], LONG));
    const due = Date.now() + 300;
    service.wakeAt(ZAP, due);
    await sleep(100);
    expect(wait.outcome).toBeUndefined();
    await eventually('the due wake', () => wait.outcome !== undefined);
    expect(wait.outcome).toBe('woken');
    expect(wait.at as number).toBeGreaterThanOrEqual(due);
  });
});

describe('wake-ups driving concurrent claimers on two instances', () => {
  it('every task of the bursts is claimed exactly once, by woken polls only', async () => {
    const db = await migrated();
    // Waits far longer than the test: only a wake-up (never a timeout) makes a poll claim again.
    const instances = [wakeups(db.url), wakeups(db.url)].map((i) => i.service);
    const claimed: number[] = [];
    const claim = async () =>
      (
        await db.pool.query<{ id: number }>(
          `UPDATE scan_queue_tasks SET status = 2 WHERE id = (
             SELECT id FROM scan_queue_tasks WHERE status = 1 AND scanner = $1
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id`,
          [ZAP],
        )
      ).rows[0]?.id;
    /** requestTask's pattern: register, claim (unless known empty), settle, await. */
    const agent = async (service: Wakeups) => {
      let woken: Wait | undefined;
      for (;;) {
        const wait = service.register([ZAP], LONG);
        const snapshot = service.snapshot();
        const id = service.knownEmpty([ZAP]) ? undefined : await claim();
        if (id === undefined) service.markEmpty([ZAP], snapshot);
        woken?.settle(id === undefined ? 'empty' : 'claimed');
        woken = undefined;
        if (id !== undefined) {
          claimed.push(id);
          wait.settle('claimed');
          continue;
        }
        const outcome = await wait.outcome;
        if (outcome !== 'woken') return outcome;
        woken = wait;
      }
    };
    try {
      for (const service of instances) await eventually('the LISTEN', () => service.listening);
      const agents = instances.flatMap((service) =>
        Array.from({ length: 25 }, () => agent(service)),
      );
      await eventually('every poll waiting', () => instances.every((i) => i.waiting === 25));
      let queued = 0;
      for (const burst of [1, 40, 3, 100, 7, 60, 1, 1, 37]) {
        await db.queue(ZAP, burst);
        queued += burst;
        await sleep(burst % 2 ? 20 : 200);
      }
      await eventually('every task claimed', () => claimed.length >= queued, 20_000);
      await sleep(300);
      expect(claimed.length).toBe(queued);
      expect(new Set(claimed).size).toBe(queued);
      const [{ left }] = (
        await db.pool.query<{ left: number }>(
          `SELECT count(*)::int AS left FROM scan_queue_tasks WHERE status = 1`,
        )
      ).rows;
      expect(left).toBe(0);
      for (const service of instances) service.answerAll();
      expect(new Set(await Promise.all(agents))).toEqual(new Set(['shutdown']));
    } finally {
      for (const service of instances) await service.stop();
      await db.close();
    }
  });
});

describe('wake-ups across a PostgreSQL restart', () => {
  it('reconnects, wakes every waiter, and a task queued meanwhile is found', async () => {
    const pg = await RestartablePostgres.create();
    await pg.start();
    const db = await migrated({ DATABASE_URL: pg.url });
    const { service } = wakeups(db.url, { POLL_WAIT_MAX_SECONDS: 300 });
    try {
      await eventually('the LISTEN', () => service.listening);
      const before = Array.from({ length: 20 }, () => tracked(service.wait([ZAP], LONG)));
      await pg.stop();
      await eventually('the loss', () => !service.listening);
      // Registered while no LISTEN is in place: only the reconnect can wake them.
      const during = Array.from({ length: 20 }, () => tracked(service.wait([BURP], LONG)));
      await pg.start();
      // Queued as soon as the server is back, likely before the LISTEN is: its NOTIFY is lost.
      for (let i = 0; ; i++) {
        try {
          await db.queue(BURP);
          break;
        } catch (error) {
          if (i > 50) throw error;
          await sleep(100);
        }
      }
      await eventually('the reconnect', () => service.listening);
      await eventually('every wake-up', () => [...before, ...during].every((w) => w.outcome));
      expect(new Set([...before, ...during].map((w) => w.outcome))).toEqual(new Set(['woken']));
      // The task queued meanwhile is there for the woken polls to claim.
      const [{ count }] = (
        await db.pool.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM scan_queue_tasks WHERE scanner = $1 AND status = 1`,
          [BURP],
        )
      ).rows;
      expect(count).toBe(1);
      // And the new LISTEN hears the next one.
      const next = tracked(service.wait([ZAP], LONG));
      await db.queue(ZAP);
      await eventually('the wake-up after the restart', () => next.outcome !== undefined);
      expect(next.outcome).toBe('woken');
    } finally {
      await service.stop();
      await db.close();
      await pg.remove();
    }
  });
});

/**
 * background/'s jobs (jobs.ts, JobsService's core) on a real PostgreSQL that the built server
 * migrated (pg-boss's schema included, by migration 1765400000000): a job sent in a transaction exists only if it commits, survives a restart of
 * the service, and a failing job is retried with a growing backoff and then dead-lettered.
 * The webhook deliveries on those jobs: an endpoint that always fails gets WEBHOOK_MAX_ATTEMPTS
 * attempts, then the delivery is dead and no job is left for it.
 * (That two imports of one application never overlap is test/imports.e2e-spec.ts's.)
 */
import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { DataSource } from 'typeorm';
import { Jobs } from '../src/background/jobs';
import { givenApplication, queueScan } from './support/agent-flow';
import { freePort, TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const POLL = { concurrency: 1, pollingIntervalSeconds: 0.5 };

interface Payload {
  n: number;
}

describe('background jobs (pg-boss)', () => {
  let t: TestServer;
  let dataSource: DataSource;
  const services: Jobs[] = [];
  const newDataSource = (max: number) =>
    new DataSource({ type: 'postgres', url: t.env.DATABASE_URL, extra: { max } });

  const jobsService = (source = dataSource): Jobs => {
    const jobs = new Jobs(source, console);
    services.push(jobs);
    return jobs;
  };

  const createQueue = (name: string, options: object = {}) =>
    dataSource.query(`SELECT pgboss.create_queue($1, $2)`, [
      name,
      JSON.stringify({ policy: 'standard', ...options }),
    ]);

  beforeAll(async () => {
    // The server's start ran the migrations; its own import workers are off (the default here).
    t = await TestServer.start();
    dataSource = newDataSource(5);
    await dataSource.initialize();
  }, 60_000);

  afterAll(async () => {
    for (const jobs of services) await jobs.stop();
    await dataSource?.destroy();
    await t?.stop();
  });

  it("the migrations created pg-boss's schema and the queues of imports and webhooks (pg-boss never migrates at run time)", async () => {
    const [{ version }] = await dataSource.query<{ version: number }[]>(
      'SELECT version FROM pgboss.version',
    );
    expect(version).toBe(24);
    const queues = await dataSource.query<{ name: string; dead_letter: string | null }[]>(
      'SELECT name, dead_letter FROM pgboss.queue ORDER BY name',
    );
    expect(queues).toEqual([
      { name: 'scan-import', dead_letter: 'scan-import.dead' },
      { name: 'scan-import.dead', dead_letter: null },
      { name: 'webhook-delivery', dead_letter: 'webhook-delivery.dead' },
      { name: 'webhook-delivery.dead', dead_letter: null },
    ]);
  });

  it('a job sent in a transaction that rolls back never exists; one that commits runs, with what was written beside it', async () => {
    await createQueue('test-tx');
    await dataSource.query('CREATE TABLE test_tx_rows (n int PRIMARY KEY)');
    const jobs = jobsService();
    jobs.define<Payload>({
      name: 'test-tx',
      beforeSend: async (tx, data) => {
        await tx.query('INSERT INTO test_tx_rows (n) VALUES ($1)', [data.n]);
      },
    });
    await expect(
      dataSource.transaction(async (tx) => {
        await jobs.send<Payload>(tx, 'test-tx', { n: 1 });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await dataSource.transaction((tx) => jobs.send<Payload>(tx, 'test-tx', { n: 2 }));
    // Outside a transaction there is nothing to be atomic with: refused.
    await expect(jobs.send<Payload>(dataSource.manager, 'test-tx', { n: 3 })).rejects.toThrow(
      /transaction/,
    );

    const ran: number[] = [];
    await jobs.work<Payload>('test-tx', POLL, async (data) => {
      ran.push(data.n);
    });
    await eventually('the committed job', () => (ran.length > 0 ? ran : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // three more polls
    expect(ran).toEqual([2]);
    const rows = await dataSource.query<{ n: number }[]>('SELECT n FROM test_tx_rows ORDER BY n');
    expect(rows).toEqual([{ n: 2 }]);
    const [{ count }] = await dataSource.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM pgboss.job WHERE name = 'test-tx'`,
    );
    expect(count).toBe(1);
  });

  it('a job survives a restart: sent by one service, run by the next one on a new pool', async () => {
    await createQueue('test-restart');
    const before = jobsService();
    before.define<Payload>({ name: 'test-restart' });
    await dataSource.transaction((tx) => before.send<Payload>(tx, 'test-restart', { n: 7 }));
    await before.stop();

    const source = newDataSource(2);
    await source.initialize();
    try {
      const after = jobsService(source);
      after.define<Payload>({ name: 'test-restart' });
      const ran: number[] = [];
      await after.work<Payload>('test-restart', POLL, async (data) => {
        ran.push(data.n);
      });
      expect(await eventually('the job after the restart', () => ran[0])).toBe(7);
      await after.stop();
    } finally {
      await source.destroy();
    }
  });

  it('a failing job is retried with a growing backoff, then moved to its dead-letter queue', async () => {
    await createQueue('test-flaky.dead');
    await createQueue('test-flaky');
    const jobs = jobsService();
    jobs.define<Payload>({
      name: 'test-flaky',
      options: { retryLimit: 2, retryDelay: 1, retryBackoff: true, deadLetter: 'test-flaky.dead' },
    });
    await dataSource.transaction((tx) => jobs.send<Payload>(tx, 'test-flaky', { n: 42 }));
    const attempts: number[] = [];
    await jobs.work<Payload>('test-flaky', POLL, async () => {
      attempts.push(Date.now());
      throw new Error(`attempt ${attempts.length} failed`);
    });
    const dead: Payload[] = [];
    await jobs.work<Payload>('test-flaky.dead', POLL, async (data) => {
      dead.push(data);
    });
    expect(await eventually('the dead letter', () => dead[0])).toEqual({ n: 42 });
    // One run and two retries; pg-boss's backoff: retry n waits 2^(n-1)..2^n retry delays.
    expect(attempts).toHaveLength(3);
    const [first, second, third] = attempts;
    expect(second - first).toBeGreaterThanOrEqual(1_000);
    expect(third - second).toBeGreaterThanOrEqual(2_000);
    const [job] = await dataSource.query<{ state: string; retry_count: number; output: object }[]>(
      `SELECT state, retry_count, output FROM pgboss.job WHERE name = 'test-flaky'
       UNION ALL SELECT state, retry_count, output FROM pgboss.archive WHERE name = 'test-flaky'`,
    );
    expect(job).toMatchObject({ state: 'failed', retry_count: 2 });
    expect(JSON.stringify(job.output)).toContain('attempt 3 failed');
  }, 40_000);
});

describe('webhook deliveries on pg-boss jobs', () => {
  let t: TestServer;
  let receiver: Server;
  const received: number[] = [];

  beforeAll(async () => {
    const port = await freePort();
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(Date.now());
        response.statusCode = 500;
        response.end('no');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    t = await TestServer.start({
      WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`,
      WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      WEBHOOK_MAX_ATTEMPTS: '3',
      WEBHOOK_RETRY_BASE_MS: '100',
    });
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('an endpoint that keeps failing gets WEBHOOK_MAX_ATTEMPTS attempts, then its delivery is dead with no job left', async () => {
    await queueScan(t, await givenApplication(t), 'zap');
    type Delivery = { id: string; attempts: number; last_status: number; dead: boolean };
    let delivery: Delivery | undefined;
    const deadline = Date.now() + 30_000;
    while (!delivery?.dead) {
      if (Date.now() > deadline) throw new Error(`not dead: ${JSON.stringify(delivery)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      [delivery] = await t.query<Delivery>(
        `SELECT id, attempts, last_status, dead_at IS NOT NULL AS dead FROM webhook_deliveries`,
      );
    }
    expect(delivery).toMatchObject({ attempts: 3, last_status: 500, dead: true });
    expect(received).toHaveLength(3);
    const [{ pending }] = await t.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM pgboss.job
       WHERE name = 'webhook-delivery' AND state < 'active' AND data->>'deliveryId' = $1`,
      [delivery.id],
    );
    expect(pending).toBe(0);
  }, 60_000);
});

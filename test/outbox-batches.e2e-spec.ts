/**
 * The outbox's batch loops count rows, not the elements of TypeORM's answer: a top-level
 * `DELETE|UPDATE … RETURNING` comes back from `query()` as `[rows, count]`, so counting its
 * elements gave 2 whatever happened. The pruner's log line and both loops (pruner, webhook
 * fan-out) depend on the count: each must go on past its first batch while there is more.
 */
import { createServer, Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { freePort, TestServer } from './support/test-server';

/** The pruner's batch (src/events/outbox-pruner.service.ts) and the fan-out's (webhook-dispatcher). */
const PRUNE_BATCH = 5_000;
const FAN_OUT_BATCH = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` events of a queued task, `ageHours` old, that owe nothing (no NATS_URL, webhooks done). */
async function insertEvents(
  t: TestServer,
  count: number,
  options: { ageHours: number; webhooksQueued: boolean },
): Promise<void> {
  await t.query(
    `INSERT INTO outbox_events (event_type, subject, aggregate_id, payload, created_at, webhooks_queued_at)
     SELECT 'task.queued', 'task.queued', n, jsonb_build_object('task', jsonb_build_object('id', n), 'message', 'm'),
            now() - make_interval(hours => $2), CASE WHEN $3 THEN now() END
     FROM generate_series(1, $1) AS n`,
    [count, options.ageHours, options.webhooksQueued],
  );
}

const countEvents = async (t: TestServer, where = 'true') =>
  Number(
    (await t.query<{ n: string }>(`SELECT count(*) AS n FROM outbox_events WHERE ${where}`))[0].n,
  );

describe('outbox pruner', () => {
  let t: TestServer;
  beforeAll(async () => {
    // LOG_LEVEL=log: the pruner reports what it deleted at that level.
    t = await TestServer.start({ LOG_LEVEL: 'log' });
  });
  afterAll(() => t?.stop());

  /** Restarts the server and stops it again: the pruner runs at boot, and shutdown awaits it. */
  async function bootOnce(): Promise<string> {
    await t.kill('SIGTERM');
    const from = t.output.length;
    await t.spawn();
    await t.kill('SIGTERM');
    return t.output.slice(from);
  }

  it('logs nothing at the boot of a database with nothing to delete', async () => {
    await insertEvents(t, 3, { ageHours: 1, webhooksQueued: false }); // young: kept
    const log = await bootOnce();
    expect(log).toContain('Nest application successfully started');
    expect(log).not.toMatch(/Deleted \d+ outbox event/);
    expect(await countEvents(t)).toBe(3);
  });

  it('deletes past its first batch and logs the number of rows it deleted', async () => {
    await t.query('DELETE FROM outbox_events');
    await insertEvents(t, PRUNE_BATCH * 2 + 7, { ageHours: 200, webhooksQueued: false });
    await insertEvents(t, 5, { ageHours: 1, webhooksQueued: false });
    const log = await bootOnce();
    expect(log).toContain(`Deleted ${PRUNE_BATCH * 2 + 7} outbox event(s) past retention`);
    expect(await countEvents(t)).toBe(5);
    await t.spawn(); // for afterAll's stop
  });
});

describe('webhook fan-out', () => {
  let t: TestServer;
  let receiver: Server;
  const received: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(String(request.url));
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    t = await TestServer.start({
      WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`,
      WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      // An idle loop sleeps this long: only a loop that sees a full batch goes on at once.
      OUTBOX_POLL_INTERVAL_MS: '60000',
    });
  });
  afterAll(async () => {
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('turns a backlog of several batches into deliveries without waiting a poll interval per batch', async () => {
    await t.kill('SIGTERM');
    const backlog = FAN_OUT_BATCH * 2 + 3;
    await insertEvents(t, backlog, { ageHours: 0, webhooksQueued: false });
    // Each event's delivery exists already and is not due, so no delivery round keeps the loop
    // busy: only the fan-out's own count can tell it to go on.
    await t.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint, next_attempt_at)
       SELECT id, $1, now() + interval '1 day' FROM outbox_events`,
      [t.env.WEBHOOK_URLS],
    );
    await t.spawn();
    let pending = backlog;
    for (let i = 0; i < 100 && pending > 0; i++) {
      await sleep(100);
      pending = await countEvents(t, 'webhooks_queued_at IS NULL');
    }
    expect(pending).toBe(0);
    expect(received).toEqual([]); // nothing was due
  });
});

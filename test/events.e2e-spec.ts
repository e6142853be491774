/**
 * Events for other services (docs/events.md): the transactional outbox, its relay to NATS JetStream
 * (a nats-server of the suite's own on a free port, found by NATS_SERVER_BIN or on PATH; another
 * one where NATS must go down), the NATS request/reply patterns, and signed webhooks. Without
 * nats-server, the tests over NATS are skipped with one line saying so (a failure under
 * SCANQUEUE_TEST_NO_SKIP=1).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { jetstreamManager, JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core/lib/core';
import * as natsTransport from '@nats-io/transport-node';
import {
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  givenClaimedTask,
  keysOf,
  queueScan,
  requestTask,
  TASKS,
} from './support/agent-flow';
import { NatsTestServer, requireNatsServer } from './support/nats-server';
import { freePort, TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const { connect } = natsTransport;
// Exported at run time through nats-core's `exports` map, which node10 resolution cannot read.
const natsHeaders = (natsTransport as unknown as { headers(): MsgHdrs }).headers;
type NatsConnection = Awaited<ReturnType<typeof connect>>;

const NATS_SERVER = requireNatsServer('the tests over NATS');
const describeWithNats = NATS_SERVER ? describe : describe.skip;
/** The NATS most tests share: the suite's own. */
let suiteNats: NatsTestServer | undefined;
beforeAll(async () => {
  if (NATS_SERVER) suiteNats = await NatsTestServer.start(NATS_SERVER);
});
afterAll(() => suiteNats?.stop());
const sharedNatsUrl = () => {
  if (!suiteNats) throw new Error('the suite NATS is not running');
  return suiteNats.url;
};
const run = randomBytes(4).toString('hex');
const STREAM = `SQTEST_${run}`;
const PREFIX = `sqtest${run}.`;
const WEBHOOK_SECRET = randomBytes(24).toString('hex');

interface EventMessage {
  specVersion: number;
  id: string;
  type: string;
  occurredAt: string;
  task: Record<string, unknown> & { id: number; status: number; statusName: string };
  message: string | null;
  scan?: { id: number; sha256: string; sizeBytes: number };
}

interface StreamEntry {
  subject: string;
  msgId: string | undefined;
  raw: string;
  event: EventMessage;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readStream(jsm: JetStreamManager, stream: string): Promise<StreamEntry[]> {
  const info = await jsm.streams.info(stream);
  const entries: StreamEntry[] = [];
  for (
    let seq = info.state.first_seq;
    seq <= info.state.last_seq && info.state.messages > 0;
    seq++
  ) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (!message) continue;
    const raw = new TextDecoder().decode(message.data);
    entries.push({
      subject: message.subject,
      msgId: message.header?.get('Nats-Msg-Id'),
      raw,
      event: JSON.parse(raw) as EventMessage,
    });
  }
  return entries;
}

const eventsOfTask = (entries: StreamEntry[], taskId: number) =>
  entries.filter((entry) => entry.event.task.id === taskId);

async function outboxCount(t: TestServer, taskId: number): Promise<number> {
  const [row] = await t.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM outbox_events WHERE aggregate_id = $1',
    [taskId],
  );
  return row.count;
}

interface ReceivedHook {
  headers: IncomingMessage['headers'];
  body: string;
  signatureValid: boolean;
  answered: number;
}

describeWithNats('events for other services', () => {
  let t: TestServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let receiver: Server;
  const hooks: ReceivedHook[] = [];
  /** Delivery ids the receiver has refused, and how often. */
  const refusals = new Map<string, number>();

  beforeAll(async () => {
    const hookPort = await freePort();
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // What a receiver does: recompute the HMAC over the raw body, compare in constant time.
        const expected = Buffer.from(
          `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
        );
        const given = Buffer.from(String(request.headers['x-scanqueue-signature'] ?? ''));
        const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
        const delivery = String(request.headers['x-scanqueue-delivery']);
        let answered = signatureValid ? 204 : 401;
        // Every task.cancelled delivery is refused twice, then accepted.
        if (request.headers['x-scanqueue-event'] === 'task.cancelled') {
          const refused = refusals.get(delivery) ?? 0;
          if (refused < 2) {
            refusals.set(delivery, refused + 1);
            answered = 503;
          }
        }
        hooks.push({ headers: request.headers, body, signatureValid, answered });
        response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
    t = await TestServer.start({
      NATS_URL: sharedNatsUrl(),
      NATS_STREAM: STREAM,
      NATS_SUBJECT_PREFIX: PREFIX,
      OUTBOX_POLL_INTERVAL_MS: '50',
      REAPER_INTERVAL_SECONDS: '1',
      WEBHOOK_URLS: `http://127.0.0.1:${hookPort}/hooks/scanqueue`,
      WEBHOOK_SECRET,
      WEBHOOK_RETRY_BASE_MS: '100',
    });
    nc = await connect({ servers: sharedNatsUrl() });
    jsm = await jetstreamManager(nc);
    await eventually('the relay to create the stream', async () => {
      try {
        return (await jsm.streams.info(STREAM)).config.subjects.includes(`${PREFIX}task.>`);
      } catch {
        return false;
      }
    });
  });

  afterAll(async () => {
    await jsm?.streams.delete(STREAM).catch(() => undefined);
    await nc?.close();
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function streamEventsOf(taskId: number, count: number): Promise<StreamEntry[]> {
    return eventually(`${count} events of task ${taskId} on the stream`, async () => {
      const events = eventsOfTask(await readStream(jsm, STREAM), taskId);
      return events.length >= count ? events : undefined;
    });
  }

  it('a task lifecycle puts exactly its events on JetStream, in order, with their data and no secrets', async () => {
    const task = await givenClaimedTask(t, 'burp');
    const update = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keysOf(task),
      message: 'Spidering 40% done',
    });
    expect(update.status).toBe(200);
    const file = fixture('burp/one_finding.xml');
    const done = await completeTask(t, task, { name: 'scan.xml', content: file });
    expect(done.status).toBe(200);

    const entries = await streamEventsOf(task.taskId, 4);
    await sleep(300); // nothing more may follow
    const all = eventsOfTask(await readStream(jsm, STREAM), task.taskId);
    expect(all.map((entry) => entry.event.type)).toEqual([
      'task.queued',
      'task.assigned',
      'task.status',
      'task.completed',
    ]);
    expect(all.map((entry) => entry.subject)).toEqual(
      ['queued', 'assigned', 'status', 'completed'].map((type) => `${PREFIX}task.${type}`),
    );
    // The JetStream msgID is the outbox id, which is the event id.
    for (const entry of all) expect(entry.msgId).toBe(entry.event.id);
    const ids = all.map((entry) => Number(entry.event.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    const [queued, assigned, status, completed] = entries.map((entry) => entry.event);
    const agentId = assigned.task.agentId as number;
    expect(agentId).toEqual(expect.any(Number));
    expect(queued).toMatchObject({
      specVersion: 1,
      type: 'task.queued',
      task: {
        id: task.taskId,
        applicationId: task.applicationId,
        scanner: 'Burp Suite Pro',
        scannerShortName: 'burp',
        status: 1,
        statusName: 'QUEUED',
        agentId: null,
        startTime: null,
      },
    });
    expect(queued.message).toMatch(/^Scan queued at: /);
    expect(new Date(queued.occurredAt).toISOString()).toBe(queued.occurredAt);
    expect(assigned.task).toMatchObject({ status: 2, statusName: 'ASSIGNED' });
    expect(assigned.task.startTime).toEqual(expect.any(String));
    expect(status).toMatchObject({
      type: 'task.status',
      message: 'Spidering 40% done',
      task: { status: 2, agentId },
    });
    expect(completed).toMatchObject({
      type: 'task.completed',
      task: { status: 3, statusName: 'COMPLETE_SUCCESSFUL', agentId },
      scan: {
        sha256: createHash('sha256').update(file).digest('hex'),
        sizeBytes: file.length,
      },
    });
    expect(completed.scan?.id).toEqual(expect.any(Number));
    expect(completed.task.endTime).toEqual(expect.any(String));

    // No key, and no hash of one, in any event.
    const secrets = [t.adminKey, task.agentKey, task.secureTaskKey];
    const hashes = secrets.map((key) => createHash('sha256').update(key).digest('hex'));
    for (const entry of all) {
      for (const secret of [...secrets, ...hashes]) expect(entry.raw).not.toContain(secret);
      expect(entry.raw).not.toMatch(/secure|Hash|apiKey/i);
    }
  });

  it('failTask, cancel and the reaper raise task.failed, task.cancelled and task.timedout', async () => {
    const failing = await givenClaimedTask(t, 'zap');
    expect(
      (
        await t.postForm(`${TASKS}/failTask`, t.adminKey, {
          ...keysOf(failing),
          message: 'zap exited with 2',
        })
      ).status,
    ).toBe(200);
    const app = await givenApplication(t);
    const toCancel = await queueScan(t, app, 'zap');
    expect(
      (await t.postForm(`/threadfix/rest/tasks/${toCancel.id}/cancel`, t.adminKey)).status,
    ).toBe(200);
    const overdue = await givenClaimedTask(t, 'acunetix', { timeoutSeconds: 1 });

    const failed = await streamEventsOf(failing.taskId, 3);
    expect(failed[2].event).toMatchObject({ type: 'task.failed', task: { status: 6 } });
    expect(failed[2].event.message).toContain('zap exited with 2');
    const cancelled = await streamEventsOf(toCancel.id, 2);
    expect(cancelled.map((entry) => entry.event.type)).toEqual(['task.queued', 'task.cancelled']);
    expect(cancelled[1].event.task).toMatchObject({ status: 4, statusName: 'COMPLETE_DELETED' });
    const timedOut = await streamEventsOf(overdue.taskId, 3);
    expect(timedOut[2].event).toMatchObject({
      type: 'task.timedout',
      task: { status: 5, statusName: 'COMPLETE_TIMEDOUT' },
    });
    expect(timedOut[2].event.message).toMatch(/^Task timed out: no result by /);
  });

  it('a refused or failed change writes no event: the event commits only with its change', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const before = await outboxCount(t, task.taskId);
    expect(before).toBe(2);
    // Refused: a wrong task key, a cancel of a finished task, a status message after the end.
    const wrongKey = await completeTask(
      t,
      task,
      { name: 'scan.xml', content: fixture('burp/one_finding.xml') },
      { ...keysOf(task), secureTaskKey: 'not-the-key' },
    );
    expect(wrongKey.status).toBe(403);
    expect(
      (await t.postForm(`${TASKS}/failTask`, t.adminKey, { ...keysOf(task), message: 'x' })).status,
    ).toBe(200);
    expect(await outboxCount(t, task.taskId)).toBe(3);
    expect(
      (await t.postForm(`/threadfix/rest/tasks/${task.taskId}/cancel`, t.adminKey)).status,
    ).toBe(409);
    expect(
      (
        await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
          ...keysOf(task),
          message: 'late',
        })
      ).status,
    ).toBe(409);
    expect(await outboxCount(t, task.taskId)).toBe(3);

    // The statement fails in its outbox INSERT: the status change and its history row go too.
    const app = await givenApplication(t);
    const queued = await queueScan(t, app, 'zap');
    await t.query(`
      CREATE FUNCTION refuse_test_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'outbox refused for the test'; END $$`);
    await t.query(
      `CREATE TRIGGER refuse_test_event BEFORE INSERT ON outbox_events FOR EACH ROW
       WHEN (NEW.aggregate_id = ${queued.id}) EXECUTE FUNCTION refuse_test_event()`,
    );
    try {
      const cancel = await t.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, t.adminKey);
      expect(cancel.status).toBe(500);
      const [row] = await t.query<{ status: number }>(
        'SELECT status FROM scan_queue_tasks WHERE id = $1',
        [queued.id],
      );
      expect(row.status).toBe(1);
      const history = await t.query('SELECT 1 FROM scan_statuses WHERE task_id = $1', [queued.id]);
      expect(history).toHaveLength(1); // the queued row only
      expect(await outboxCount(t, queued.id)).toBe(1);
    } finally {
      await t.query('DROP TRIGGER refuse_test_event ON outbox_events');
      await t.query('DROP FUNCTION refuse_test_event()');
    }
    expect((await t.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, t.adminKey)).status).toBe(
      200,
    );
    expect(await outboxCount(t, queued.id)).toBe(2);
  });

  it('an event published again (a crash before it was marked) is dropped by JetStream: msgID dedupe', async () => {
    const app = await givenApplication(t);
    const queued = await queueScan(t, app, 'appscan');
    await streamEventsOf(queued.id, 1);
    const before = (await jsm.streams.info(STREAM)).state.messages;
    await t.query('UPDATE outbox_events SET published_at = NULL WHERE aggregate_id = $1', [
      queued.id,
    ]);
    await eventually('the relay to publish it again', async () => {
      const [row] = await t.query<{ published_at: Date | null }>(
        'SELECT published_at FROM outbox_events WHERE aggregate_id = $1',
        [queued.id],
      );
      return row.published_at !== null;
    });
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(before);
    expect(eventsOfTask(await readStream(jsm, STREAM), queued.id)).toHaveLength(1);
  });

  describe('request/reply over NATS', () => {
    interface Reply<T = Record<string, unknown>> {
      message: string;
      success: boolean;
      responseCode: number;
      object: T;
    }

    async function ask<T = Record<string, unknown>>(
      pattern: string,
      payload: unknown,
      options: { header?: string; raw?: string } = {},
    ): Promise<Reply<T>> {
      const headers = natsHeaders();
      if (options.header) headers.set('Authorization', options.header);
      const response = await nc.request(PREFIX + pattern, options.raw ?? JSON.stringify(payload), {
        timeout: 5_000,
        headers: options.header ? headers : undefined,
      });
      return response.json<Reply<T>>();
    }

    let readerKey: string;
    let restrictedKey: string;

    beforeAll(async () => {
      const reader = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
        name: 'reader',
        permissions: ['READ_ACCESS'],
      });
      readerKey = reader.body.object.apiKey;
      const restricted = await t.postJson<{ apiKey: string }>(
        '/threadfix/rest/api-keys',
        t.adminKey,
        { name: 'restricted', permissions: ['CAN_MANAGE_SCAN_AGENTS'], restricted: true },
      );
      restrictedKey = restricted.body.object.apiKey;
      await eventually('the patterns to be subscribed', async () => {
        try {
          await ask('tasks.get', { apiKey: t.adminKey, id: 1 });
          return true;
        } catch {
          return false;
        }
      });
    });

    it('queues, gets and cancels a task and lists scans, answering in the REST envelope', async () => {
      const app = await givenApplication(t);
      const queued = await ask<{ id: number; status: number; secureKey: unknown }>('tasks.queue', {
        apiKey: t.adminKey,
        applicationId: app,
        scannerType: 'zap',
        targetUrl: 'https://svc.example/login',
      });
      expect(queued).toMatchObject({
        success: true,
        responseCode: 200,
        message: '',
        object: { status: 1, secureKey: null },
      });
      const id = queued.object.id;
      const got = await ask('tasks.get', { id }, { header: `APIKEY ${readerKey}` });
      expect(got).toMatchObject({
        success: true,
        responseCode: 200,
        object: { id, applicationId: app, targetUrl: 'https://svc.example/login' },
      });
      const cancelled = await ask('tasks.cancel', { apiKey: t.adminKey, id });
      expect(cancelled).toMatchObject({ success: true, object: { id, status: 4 } });
      const again = await ask('tasks.cancel', { apiKey: t.adminKey, id });
      expect(again).toMatchObject({ success: false, responseCode: 409, object: null });
      expect(again.message).toBe(`ScanQueueTask ${id} was cancelled by an administrator.`);
      const missing = await ask('tasks.get', { apiKey: t.adminKey, id: 2147483000 });
      expect(missing).toMatchObject({ success: false, responseCode: 404 });

      const task = await givenClaimedTask(t, 'burp');
      expect(
        (await completeTask(t, task, { name: 's.xml', content: fixture('burp/one_finding.xml') }))
          .status,
      ).toBe(200);
      const scans = await ask<{ taskId: number; scannerShortName: string }[]>(
        'applications.scans',
        { apiKey: readerKey, applicationId: task.applicationId },
      );
      expect(scans.success).toBe(true);
      expect(scans.object).toEqual([
        expect.objectContaining({ taskId: task.taskId, scannerShortName: 'burp' }),
      ]);
      // The same data the REST route gives.
      const rest = await t.get(
        `/threadfix/rest/applications/${task.applicationId}/scans`,
        readerKey,
      );
      expect(scans.object).toEqual(rest.body.object);
    });

    it('refuses a missing or unknown key (401) and a key without the permission (403)', async () => {
      const none = await ask('tasks.get', { id: 1 });
      expect(none).toMatchObject({ success: false, responseCode: 401, object: null });
      const unknown = await ask('tasks.get', { apiKey: 'x'.repeat(43), id: 1 });
      expect(unknown).toMatchObject({ success: false, responseCode: 401 });
      expect(unknown.message).toBe('API Key not found in database.');
      const app = await givenApplication(t);
      const reader = await ask('tasks.queue', {
        apiKey: readerKey,
        applicationId: app,
        scannerType: 'zap',
      });
      expect(reader).toMatchObject({ success: false, responseCode: 403 });
      expect(reader.message).toContain('Manage Scan Agents');
      expect(await ask('tasks.cancel', { apiKey: readerKey, id: 1 })).toMatchObject({
        responseCode: 403,
      });
      const restricted = await ask('tasks.queue', {
        apiKey: restrictedKey,
        applicationId: app,
        scannerType: 'zap',
      });
      expect(restricted).toMatchObject({ success: false, responseCode: 403 });
      expect(
        await t.query('SELECT 1 FROM scan_queue_tasks WHERE application_id = $1', [app]),
      ).toHaveLength(0);
    });

    it('applies the roles and team scope of the REST routes: out of scope answers as missing and changes nothing', async () => {
      const newKey = async (permissions: string[], extra: Record<string, unknown> = {}) => {
        const res = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
          name: `nats-${permissions.length}-${Math.random()}`,
          permissions,
          ...extra,
        });
        expect(res.status).toBe(200);
        return res.body.object.apiKey;
      };
      const [{ id: team }] = await t.query<{ id: number }>(
        `INSERT INTO teams (name) VALUES ('nats-elsewhere') RETURNING id`,
      );
      const everything = [
        'CAN_MANAGE_SCAN_AGENTS',
        'CAN_MANAGE_SCAN_QUEUE',
        'CAN_MANAGE_APPLICATIONS',
        'READ_ACCESS',
      ];
      const elsewhere = await newKey(everything, { teamIds: [team] });
      const agentOnly = await newKey(['CAN_RUN_SCAN_AGENT']);
      const queueAdmin = await newKey(['CAN_MANAGE_SCAN_QUEUE'], { restricted: true });
      const app = await givenApplication(t);
      const queued = await queueScan(t, app, 'zap');
      const before = await t.query('SELECT * FROM scan_queue_tasks WHERE application_id = $1', [
        app,
      ]);
      const missingId = 2147483000;
      for (const [pattern, payload, missingPayload] of [
        ['tasks.get', { id: queued.id }, { id: missingId }],
        ['tasks.cancel', { id: queued.id }, { id: missingId }],
        [
          'tasks.queue',
          { applicationId: app, scannerType: 'zap' },
          { applicationId: missingId, scannerType: 'zap' },
        ],
        // As its REST route: 404 for a missing application, and so out of scope.
        ['applications.scans', { applicationId: app }, { applicationId: missingId }],
      ] as [string, Record<string, unknown>, Record<string, unknown>][]) {
        const outOfScope = await ask(pattern, { ...payload, apiKey: elsewhere });
        const missing = await ask(pattern, { ...missingPayload, apiKey: elsewhere });
        expect(outOfScope).toMatchObject({ success: false, responseCode: 404, object: null });
        expect(outOfScope.message.replace(/\d+/g, '#')).toBe(missing.message.replace(/\d+/g, '#'));
      }
      // An agent's key administers nothing; a restricted queue admin cannot cancel.
      for (const pattern of ['tasks.get', 'tasks.cancel', 'tasks.queue', 'applications.scans']) {
        const refused = await ask(pattern, {
          apiKey: agentOnly,
          id: queued.id,
          applicationId: app,
          scannerType: 'zap',
        });
        expect([pattern, refused.responseCode]).toEqual([pattern, 403]);
      }
      const cancel = await ask('tasks.cancel', { apiKey: queueAdmin, id: queued.id });
      expect(cancel).toMatchObject({
        responseCode: 403,
        message: 'The requested URL is restricted for your API Key.',
      });
      expect(
        await t.query('SELECT * FROM scan_queue_tasks WHERE application_id = $1', [app]),
      ).toEqual(before);
      // The restricted queue admin still reads.
      expect(await ask('tasks.get', { apiKey: queueAdmin, id: queued.id })).toMatchObject({
        success: true,
        object: { id: queued.id, statusCount: 1 },
      });
    });

    it('answers a bad payload with a 400 envelope', async () => {
      const app = await givenApplication(t);
      const badId = await ask('tasks.get', { apiKey: t.adminKey, id: 'seven' });
      expect(badId).toMatchObject({ success: false, responseCode: 400, object: null });
      expect(badId.message).toBe('id must be an integer.');
      const badScanner = await ask('tasks.queue', {
        apiKey: t.adminKey,
        applicationId: app,
        scannerType: 'nmap',
      });
      expect(badScanner).toMatchObject({ success: false, responseCode: 400 });
      expect(badScanner.message).toMatch(/^Bad scanner type of: nmap provided\./);
      const missing = await ask('tasks.queue', { apiKey: t.adminKey, scannerType: 'zap' });
      expect(missing.message).toBe("Required parameter 'applicationId' is missing.");
      const notJson = await ask('tasks.get', undefined, {
        header: `APIKEY ${t.adminKey}`,
        raw: '{"id": ',
      });
      expect(notJson).toMatchObject({ success: false, responseCode: 400 });
      expect(notJson.message).toBe('The message is not valid JSON.');
      const notObject = await ask('tasks.get', [1], { header: `APIKEY ${t.adminKey}` });
      expect(notObject).toMatchObject({ responseCode: 400 });
    });

    it("speaks Nest's packet format to Nest clients", async () => {
      const app = await givenApplication(t);
      const queued = await queueScan(t, app, 'zap');
      const response = await nc.request(
        `${PREFIX}tasks.get`,
        JSON.stringify({
          pattern: 'tasks.get',
          id: 'nest-client-1',
          data: { apiKey: t.adminKey, id: queued.id },
        }),
        { timeout: 5_000 },
      );
      expect(response.json()).toMatchObject({
        id: 'nest-client-1',
        isDisposed: true,
        response: { success: true, responseCode: 200, object: { id: queued.id } },
      });
    });
  });

  it('delivers every event to the webhook, signed, and retries an endpoint that fails', async () => {
    const app = await givenApplication(t);
    const queued = await queueScan(t, app, 'zap');
    expect((await t.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, t.adminKey)).status).toBe(
      200,
    );
    const ofTask = () => hooks.filter((hook) => JSON.parse(hook.body).task.id === queued.id);
    await eventually('the cancelled event to be delivered', async () =>
      ofTask().some(
        (hook) => hook.answered === 204 && hook.headers['x-scanqueue-event'] === 'task.cancelled',
      ),
    );
    const received = ofTask();
    expect(received.every((hook) => hook.signatureValid)).toBe(true);
    const queuedHooks = received.filter(
      (hook) => hook.headers['x-scanqueue-event'] === 'task.queued',
    );
    expect(queuedHooks).toHaveLength(1);
    const cancelHooks = received.filter(
      (hook) => hook.headers['x-scanqueue-event'] === 'task.cancelled',
    );
    // Refused twice, accepted the third time; the same delivery id and body every time.
    expect(cancelHooks.map((hook) => hook.answered)).toEqual([503, 503, 204]);
    expect(new Set(cancelHooks.map((hook) => hook.headers['x-scanqueue-delivery'])).size).toBe(1);
    expect(new Set(cancelHooks.map((hook) => hook.body)).size).toBe(1);
    const event = JSON.parse(cancelHooks[0].body) as EventMessage;
    expect(event).toMatchObject({ specVersion: 1, type: 'task.cancelled', task: { status: 4 } });
    expect(cancelHooks[0].headers['content-type']).toBe('application/json');
    // The same event as on JetStream: same id, same body.
    const onStream = await streamEventsOf(queued.id, 2);
    expect(onStream[1].raw).toBe(cancelHooks[0].body);
    const [delivery] = await t.query<{ attempts: number; delivered_at: Date | null; id: string }>(
      `SELECT d.id, d.attempts, d.delivered_at FROM webhook_deliveries d
       JOIN outbox_events e ON e.id = d.event_id
       WHERE e.aggregate_id = $1 AND e.event_type = 'task.cancelled'`,
      [queued.id],
    );
    expect(delivery.attempts).toBe(3);
    expect(delivery.delivered_at).not.toBeNull();
    expect(cancelHooks[0].headers['x-scanqueue-delivery']).toBe(String(delivery.id));
  });
});

describeWithNats('events while NATS is down, and with two relaying instances', () => {
  it('starts and serves while NATS is down, keeps the events, and publishes each once when NATS is back', async () => {
    const nats = await NatsTestServer.create(NATS_SERVER as string);
    const stream = `SQDOWN_${run}`;
    // NATS unreachable at boot: scanqueue starts all the same.
    const t = await TestServer.start({
      NATS_URL: nats.url,
      NATS_STREAM: stream,
      OUTBOX_POLL_INTERVAL_MS: '50',
      OUTBOX_RETRY_MAX_MS: '1000',
    });
    let nc: NatsConnection | undefined;
    try {
      const app = await givenApplication(t);
      await queueScan(t, app, 'zap');
      await queueScan(t, app, 'burp');
      await sleep(500);
      expect(await t.query('SELECT 1 FROM outbox_events WHERE published_at IS NULL')).toHaveLength(
        2,
      );

      await nats.up();
      await eventually(
        'the events written before NATS was up to be published',
        async () =>
          (await t.query('SELECT 1 FROM outbox_events WHERE published_at IS NULL')).length === 0,
        30_000,
      );
      nc = await connect({ servers: nats.url });
      // The request/reply patterns connected once NATS was reachable.
      const answer = await eventually('a reply from scanqueue', async () => {
        try {
          const reply = await (nc as NatsConnection).request(
            'scanqueue.tasks.get',
            JSON.stringify({ apiKey: t.adminKey, id: 1 }),
            { timeout: 1_000 },
          );
          return reply.json<{ success: boolean; object: { id: number } }>();
        } catch {
          return undefined;
        }
      });
      expect(answer).toMatchObject({ success: true, object: { id: 1 } });
      await nc.close();
      nc = undefined;

      // Down in mid-run.
      await nats.down();
      const agentKey = await givenAgentKey(t);
      for (let i = 0; i < 3; i++) await queueScan(t, app, 'zap');
      expect((await requestTask(t, agentKey, 'zap')).body.success).toBe(true);
      // It tries (a publish times out after 5 s), records the failure and keeps the rows.
      const waiting = await eventually('a failed attempt to be recorded', async () => {
        const rows = await t.query<{ attempts: number; last_error: string | null }>(
          'SELECT attempts, last_error FROM outbox_events WHERE published_at IS NULL ORDER BY id',
        );
        return rows[0]?.attempts > 0 ? rows : undefined;
      });
      expect(waiting).toHaveLength(4);
      expect(waiting[0].last_error).toEqual(expect.any(String));
      await nats.up();
      await eventually(
        'the backlog to be published',
        async () =>
          (await t.query('SELECT 1 FROM outbox_events WHERE published_at IS NULL')).length === 0,
        30_000,
      );
      nc = await connect({ servers: nats.url });
      const entries = await readStream(await jetstreamManager(nc), stream);
      const outbox = await t.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id');
      expect(outbox).toHaveLength(6);
      expect(entries.map((entry) => entry.event.id)).toEqual(outbox.map((row) => row.id));
      expect(entries.map((entry) => entry.event.type)).toEqual([
        'task.queued',
        'task.queued',
        'task.queued',
        'task.queued',
        'task.queued',
        'task.assigned',
      ]);
    } finally {
      await nc?.close();
      await t.stop();
      await nats.stop();
    }
  });

  it('two instances relaying one outbox publish each event exactly once', async () => {
    const stream = `SQPAIR_${run}`;
    const prefix = `sqpair${run}.`;
    const [a, b] = await TestServer.startCluster(2, {
      NATS_URL: sharedNatsUrl(),
      NATS_STREAM: stream,
      NATS_SUBJECT_PREFIX: prefix,
      OUTBOX_POLL_INTERVAL_MS: '20',
    });
    const nc = await connect({ servers: sharedNatsUrl() });
    const jsm = await jetstreamManager(nc);
    try {
      const apps = await Promise.all([givenApplication(a), givenApplication(b)]);
      await Promise.all(
        [a, b].map(async (server, i) => {
          for (let n = 0; n < 15; n++) await queueScan(server, apps[i], n % 2 ? 'zap' : 'burp');
        }),
      );
      await eventually('all 30 events to be published', async () => {
        const [row] = await a.query<{ owed: number }>(
          'SELECT count(*)::int AS owed FROM outbox_events WHERE published_at IS NULL',
        );
        return row.owed === 0;
      });
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(30);
      const entries = await readStream(jsm, stream);
      expect(new Set(entries.map((entry) => entry.msgId)).size).toBe(30);
      const outbox = await a.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id');
      expect(entries.map((entry) => entry.event.id).sort()).toEqual(
        outbox.map((row) => row.id).sort(),
      );
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
      await b.stop();
      await a.stop();
    }
  });
});

describe('the outbox table', () => {
  it('keeps credentials of a target URL (user:password@) out of the event', async () => {
    const t = await TestServer.start();
    try {
      const app = await givenApplication(t);
      const task = await queueScan(t, app, 'zap', {
        targetUrl: 'https://scanner:s3cret-word@target.example/app?x=1',
      });
      const [event] = await t.query<{ payload: { task: { targetUrl: string } } }>(
        `SELECT payload FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'task.queued'`,
        [task.id],
      );
      expect(event.payload.task.targetUrl).toBe('https://target.example/app?x=1');
      expect(JSON.stringify(event.payload)).not.toContain('s3cret');
    } finally {
      await t.stop();
    }
  });

  it('deletes events past OUTBOX_RETENTION_HOURS that owe nothing more, and keeps the rest', async () => {
    // No NATS_URL and no webhooks: nobody will publish these, so only their age matters.
    const t = await TestServer.start();
    try {
      const app = await givenApplication(t);
      for (let i = 0; i < 4; i++) await queueScan(t, app, 'zap');
      const events = await t.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id');
      expect(events).toHaveLength(4);
      const [old1, old2, young, pending] = events.map((e) => e.id);
      await t.query(
        `UPDATE outbox_events SET created_at = now() - interval '169 hours' WHERE id = ANY($1::bigint[])`,
        [[old1, old2, pending]],
      );
      // An old event with a webhook delivery still owed is kept whatever its age.
      await t.query(
        `INSERT INTO webhook_deliveries (event_id, endpoint) VALUES ($1, 'http://127.0.0.1:9/hook')`,
        [pending],
      );
      await t.kill('SIGTERM');
      await t.spawn(); // the pruner runs at boot
      let left: string[] = [];
      for (let i = 0; i < 50; i++) {
        left = (await t.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id')).map(
          (e) => e.id,
        );
        if (left.length === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(left).toEqual([young, pending]);
    } finally {
      await t.stop();
    }
  });
});

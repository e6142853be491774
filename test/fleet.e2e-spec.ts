/**
 * Fleet control (issue 14, item 5) through the real server: agents' liveness in the agent list
 * (online from AGENT_ONLINE_SECONDS, the scanners asked for, the task held), pausing and resuming
 * an agent (answered "No task found.", key kept, its task still finishable) and a scanner's queue
 * (its tasks wait, others flow), each an outbox event and in the metrics, under the team scope.
 */
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { agentIdOf, givenAppInTeam, givenKey, givenTeam, R } from './access-fixtures';
import {
  AgentTask,
  givenAgentKey,
  givenApplication,
  queueScan,
  requestTask,
  TASKS,
  taskStatus,
} from './support/agent-flow';
import { NatsTestServer, requireNatsServer } from './support/nats-server';
import { RestResult, TestServer } from './support/test-server';

const NATS_SERVER = requireNatsServer('the fleet events on JetStream');
const describeWithNats = NATS_SERVER ? describe : describe.skip;

let t: TestServer;

beforeAll(async () => {
  // A short threshold, so that an agent goes offline within the test (writes every 0.5 s).
  t = await TestServer.start({ AGENT_ONLINE_SECONDS: '2' });
});
afterAll(() => t.stop());

interface Agent {
  id: number;
  apiKeyId: number;
  lastSeenTime: number | null;
  online: boolean;
  scanners: string[];
  currentTask: { id: number; status: number; statusString: string } | null;
  paused: boolean;
  pausedTime: number | null;
}

interface Queue {
  scanner: string;
  displayName: string;
  paused: boolean;
  pausedTime: number | null;
  queued: number;
  oldestQueuedAgeSeconds: number | null;
}

const NO_TASK = { status: 200, body: { message: 'No task found.', success: false, object: null } };

const pauseAgent = (id: number, action: 'pause' | 'resume', key = t.adminKey) =>
  t.postForm<{ message: string; changed: boolean; agent: Agent }>(
    `${R}/scan-agents/${id}/${action}`,
    key,
  );

const pauseQueue = (scanner: string, action: 'pause' | 'resume', key = t.adminKey) =>
  t.postForm<{ message: string; changed: boolean; queue: Queue }>(
    `${R}/scanner-queues/${encodeURIComponent(scanner)}/${action}`,
    key,
  );

async function agentView(id: number, key = t.adminKey): Promise<Agent | undefined> {
  const res = await t.get<Agent[]>(`${R}/scan-agents`, key);
  expect(res.status).toBe(200);
  return res.body.object.find((agent) => agent.id === id);
}

async function queueView(scanner: string): Promise<Queue> {
  const res = await t.get<Queue[]>(`${R}/scanner-queues`, t.adminKey);
  expect(res.status).toBe(200);
  const queue = res.body.object.find((q) => q.scanner === scanner);
  if (!queue) throw new Error(`no queue ${scanner}`);
  return queue;
}

const events = (type: string) =>
  t.query<{ aggregate_id: number; payload: Record<string, unknown> }>(
    'SELECT aggregate_id, payload FROM outbox_events WHERE event_type = $1 ORDER BY id',
    [type],
  );

const claimed = (res: RestResult<AgentTask>) => {
  expect(res.status).toBe(200);
  expect(res.body.success).toBe(true);
  return res.body.object;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a paused agent', () => {
  it('is answered "No task found." while a queued task waits for another agent; resumed, it claims again', async () => {
    const paused = await givenAgentKey(t);
    const other = await givenAgentKey(t);
    const pausedId = await agentIdOf(t, paused);

    const first = await pauseAgent(pausedId, 'pause');
    expect(first.status).toBe(200);
    expect(first.body.object).toMatchObject({
      message: `Scan agent ${pausedId} paused.`,
      changed: true,
      agent: { id: pausedId, paused: true, pausedTime: expect.any(Number) },
    });
    // Twice is fine, and says so; no second event.
    const again = await pauseAgent(pausedId, 'pause');
    expect(again.body.object).toMatchObject({
      message: `Scan agent ${pausedId} was already paused.`,
      changed: false,
    });

    const task = await queueScan(t, await givenApplication(t), 'burp');
    // Its key still works: no 403, the answer of an empty queue, and the task stays QUEUED.
    expect(await requestTask(t, paused, 'burp')).toMatchObject(NO_TASK);
    expect(await taskStatus(t, task.id)).toBe(1);
    expect(claimed(await requestTask(t, other, 'burp')).taskId).toBe(task.id);

    const resumed = await pauseAgent(pausedId, 'resume');
    expect(resumed.body.object).toMatchObject({ changed: true, agent: { paused: false } });
    expect((await pauseAgent(pausedId, 'resume')).body.object).toMatchObject({
      message: `Scan agent ${pausedId} was already running.`,
      changed: false,
    });
    const next = await queueScan(t, await givenApplication(t), 'burp');
    expect(claimed(await requestTask(t, paused, 'burp')).taskId).toBe(next.id);

    expect((await events('fleet.agent_paused')).filter((e) => e.aggregate_id === pausedId)).toEqual(
      [
        {
          aggregate_id: pausedId,
          payload: {
            agent: { id: pausedId, apiKeyId: expect.any(Number), pausedAt: expect.any(String) },
            actor: { type: 'api_key', id: expect.any(Number) },
          },
        },
      ],
    );
    expect(
      (await events('fleet.agent_resumed')).filter((e) => e.aggregate_id === pausedId),
    ).toHaveLength(1);
  });

  it('still finishes the task it holds: status updates and failTask work', async () => {
    const agent = await givenAgentKey(t);
    const id = await agentIdOf(t, agent);
    const task = await queueScan(t, await givenApplication(t), 'burp');
    const mine = claimed(await requestTask(t, agent, 'burp'));
    expect(mine.taskId).toBe(task.id);
    expect((await pauseAgent(id, 'pause')).status).toBe(200);

    const keys = {
      scanQueueTaskId: mine.taskId,
      secureTaskKey: mine.secureTaskKey,
      scanAgentSecureKey: agent,
    };
    const update = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keys,
      message: 'still scanning',
    });
    expect(update).toMatchObject({ status: 200, body: { success: true } });
    expect((await agentView(id))?.currentTask).toEqual({
      id: task.id,
      status: 2,
      statusString: 'ASSIGNED',
    });
    const failed = await t.postForm(`${TASKS}/failTask`, t.adminKey, { ...keys, message: 'bye' });
    expect(failed).toMatchObject({ status: 200, body: { success: true } });
    expect(await taskStatus(t, task.id)).toBe(6);
    expect((await agentView(id))?.currentTask).toBeNull();
  });

  it('of another team: a key limited to teams pauses only agents of keys within them (404 otherwise)', async () => {
    const team = await givenTeam(t);
    const scoped = await givenKey(t, ['CAN_MANAGE_SCAN_QUEUE', 'CAN_RUN_SCAN_AGENT'], {
      teamIds: [team],
    });
    const adminsAgent = await agentIdOf(t, await givenAgentKey(t));
    const before = await t.query('SELECT paused_at FROM scan_agents WHERE id = $1', [adminsAgent]);
    for (const action of ['pause', 'resume'] as const)
      expect(await pauseAgent(adminsAgent, action, scoped.key)).toMatchObject({
        status: 404,
        body: { message: `No scan agent found with id ${adminsAgent}.`, success: false },
      });
    expect(await t.query('SELECT paused_at FROM scan_agents WHERE id = $1', [adminsAgent])).toEqual(
      before,
    );
    expect(await agentView(adminsAgent, scoped.key)).toBeUndefined();

    // An agent its own key issued is within its teams.
    const res = await t.get<string>(`${TASKS}/requestScanAgentKey`, scoped.key);
    const own = await agentIdOf(t, res.body.object);
    expect(await pauseAgent(own, 'pause', scoped.key)).toMatchObject({
      status: 200,
      body: { object: { changed: true, agent: { id: own, paused: true } } },
    });
  });
});

describe('a paused scanner queue', () => {
  it('hands out none of its tasks, others flow, queueScan still queues; resumed, they are claimable', async () => {
    const agent = await givenAgentKey(t);
    const app = await givenApplication(t);
    const waiting = await queueScan(t, app, 'acunetix');

    const paused = await pauseQueue('Acunetix WVS', 'pause');
    expect(paused.status).toBe(200);
    expect(paused.body.object).toMatchObject({
      message: 'Queue of Acunetix WVS paused.',
      changed: true,
      queue: { scanner: 'acunetix', displayName: 'Acunetix WVS', paused: true, queued: 1 },
    });
    expect((await pauseQueue('acunetix', 'pause')).body.object).toMatchObject({
      message: 'Queue of Acunetix WVS was already paused.',
      changed: false,
    });
    const later = await queueScan(t, app, 'acunetix');
    const other = await queueScan(t, app, 'webinspect');

    expect(claimed(await requestTask(t, agent, 'acunetix,webinspect')).taskId).toBe(other.id);
    expect(await requestTask(t, agent, 'acunetix,webinspect')).toMatchObject(NO_TASK);
    expect(await requestTask(t, agent, 'acunetix')).toMatchObject(NO_TASK);
    expect(await taskStatus(t, waiting.id)).toBe(1);
    const view = await queueView('acunetix');
    expect(view).toMatchObject({ paused: true, pausedTime: expect.any(Number), queued: 2 });
    expect(view.oldestQueuedAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(await queueView('webinspect')).toMatchObject({ paused: false, queued: 0 });

    expect((await pauseQueue('acunetix', 'resume')).body.object).toMatchObject({
      message: 'Queue of Acunetix WVS resumed.',
      changed: true,
      queue: { paused: false, pausedTime: null },
    });
    expect(claimed(await requestTask(t, agent, 'acunetix')).taskId).toBe(waiting.id);
    expect(claimed(await requestTask(t, agent, 'acunetix')).taskId).toBe(later.id);

    expect(
      (await events('fleet.queue_paused')).filter(
        (e) => (e.payload.queue as { scanner: string }).scanner === 'Acunetix WVS',
      ),
    ).toEqual([
      {
        aggregate_id: 0,
        payload: {
          queue: {
            scanner: 'Acunetix WVS',
            scannerShortName: 'acunetix',
            pausedAt: expect.any(String),
          },
          actor: { type: 'api_key', id: expect.any(Number) },
        },
      },
    ]);
    expect(
      (await events('fleet.queue_resumed')).filter(
        (e) => (e.payload.queue as { scanner: string }).scanner === 'Acunetix WVS',
      ),
    ).toHaveLength(1);
  });

  it('is named by any alias; an unknown scanner is 404 in the envelope', async () => {
    const res = await pauseQueue('OWASP ZAP', 'resume');
    expect(res.body.object).toMatchObject({ changed: false, queue: { scanner: 'zap' } });
    expect(await pauseQueue('nessus', 'pause')).toMatchObject({
      status: 404,
      body: { success: false, responseCode: -1, object: null },
    });
  });

  it('is every team’s: a key limited to teams may not pause or resume it (403)', async () => {
    const scoped = await givenKey(t, ['CAN_MANAGE_SCAN_QUEUE'], { teamIds: [await givenTeam(t)] });
    for (const action of ['pause', 'resume'] as const)
      expect(await pauseQueue('webinspect', action, scoped.key)).toMatchObject({
        status: 403,
        body: {
          message:
            'Pausing or resuming a scanner queue affects every team: it needs an API key not limited to teams.',
          success: false,
        },
      });
    expect(await queueView('webinspect')).toMatchObject({ paused: false });
  });

  it('counts only the queued tasks of the caller’s teams', async () => {
    const team = await givenTeam(t);
    const reader = await givenKey(t, ['READ_ACCESS'], { teamIds: [team] });
    await queueScan(t, await givenAppInTeam(t, team), 'appscan');
    await queueScan(t, await givenApplication(t), 'appscan');
    const res = await t.get<Queue[]>(`${R}/scanner-queues`, reader.key);
    expect(res.body.object.find((q) => q.scanner === 'appscan')).toMatchObject({ queued: 1 });
    expect(await queueView('appscan')).toMatchObject({ queued: 2 });
  });
});

describe('concurrent pauses', () => {
  it('of one agent or one queue: exactly one changes it and raises the event', async () => {
    const id = await agentIdOf(t, await givenAgentKey(t));
    const agentAnswers = await Promise.all(
      Array.from({ length: 8 }, () => pauseAgent(id, 'pause')),
    );
    // A queue never paused before: the racing pauses insert its row (ON CONFLICT).
    const queueAnswers = await Promise.all(
      Array.from({ length: 8 }, () => pauseQueue('spider', 'pause')),
    );
    try {
      for (const answers of [agentAnswers, queueAnswers]) {
        expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
        expect(answers.filter((res) => res.body.object.changed)).toHaveLength(1);
      }
      expect(
        (await events('fleet.agent_paused')).filter((e) => e.aggregate_id === id),
      ).toHaveLength(1);
      expect(
        (await events('fleet.queue_paused')).filter(
          (e) => (e.payload.queue as { scannerShortName: string }).scannerShortName === 'spider',
        ),
      ).toHaveLength(1);
    } finally {
      await pauseQueue('spider', 'resume');
    }
  });
});

describe('the agent list', () => {
  it('shows online/offline changing as an agent stops calling, with its scanners', async () => {
    const agent = await givenAgentKey(t);
    const id = await agentIdOf(t, agent);
    expect(await agentView(id)).toMatchObject({ online: false, lastSeenTime: null, scanners: [] });

    expect(await requestTask(t, agent, 'spider,ZAP,nessus')).toMatchObject(NO_TASK);
    const seen = await agentView(id);
    expect(seen).toMatchObject({ online: true, scanners: ['spider', 'zap'], currentTask: null });
    expect(seen?.lastSeenTime).toEqual(expect.any(Number));

    // Silent for longer than AGENT_ONLINE_SECONDS (2 s): offline.
    await sleep(2_600);
    expect(await agentView(id)).toMatchObject({ online: false });

    // Any authenticated call is a heartbeat: online again.
    expect(await requestTask(t, agent, 'spider')).toMatchObject(NO_TASK);
    const back = await agentView(id);
    expect(back).toMatchObject({ online: true, scanners: ['spider'] });
    expect(back?.lastSeenTime).toBeGreaterThan(seen?.lastSeenTime ?? Infinity);
  });
});

describe('heartbeats', () => {
  it('are written together once due (one statement, one now()); a change is written at once', async () => {
    const agents = await Promise.all(Array.from({ length: 12 }, () => givenAgentKey(t)));
    const ids = await Promise.all(agents.map((agent) => agentIdOf(t, agent)));
    const seenAt = async () =>
      (
        await t.query<{ at: string }>(
          `SELECT last_seen_at::text AS at FROM scan_agents WHERE id = ANY($1::int[]) ORDER BY id`,
          [ids],
        )
      ).map((row) => row.at);
    for (const agent of agents) expect(await requestTask(t, agent, 'zap')).toMatchObject(NO_TASK);
    const first = await seenAt(); // each written at its first call
    expect(first.every((at) => at !== null)).toBe(true);

    // Due again after AGENT_ONLINE_SECONDS/4 (0.5 s here), nothing else changed: batched.
    await sleep(700);
    for (const agent of agents) expect(await requestTask(t, agent, 'zap')).toMatchObject(NO_TASK);
    let batched = await seenAt();
    for (let waited = 0; batched.some((at, i) => at === first[i]) && waited < 3000; waited += 50) {
      await sleep(50);
      batched = await seenAt();
    }
    expect(batched.every((at, i) => at > first[i])).toBe(true);
    expect(new Set(batched).size).toBe(1);

    // Another scanner list is written by the call itself.
    expect(await requestTask(t, agents[0], 'burp')).toMatchObject(NO_TASK);
    const [changed] = await t.query<{ last_scanners: string[] }>(
      'SELECT last_scanners FROM scan_agents WHERE id = $1',
      [ids[0]],
    );
    expect(changed.last_scanners).toEqual(['burp']);
  });
});

describe('metrics', () => {
  it('count pause and resume actions and gauge paused agents, paused queues and agents online', async () => {
    const sample = async (name: string, labels = '') => {
      const text = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
      if (!line) throw new Error(`no sample ${name}${labels}`);
      return Number(line.split(' ')[1]);
    };
    const pauses = await sample('scanqueue_fleet_actions_total', '{target="agent",action="pause"}');
    const queuePauses = await sample(
      'scanqueue_fleet_actions_total',
      '{target="queue",action="pause"}',
    );
    const pausedAgents = await sample('scanqueue_agents_paused');

    const agent = await givenAgentKey(t);
    const id = await agentIdOf(t, agent);
    await requestTask(t, agent, 'burp');
    await pauseAgent(id, 'pause');
    await pauseAgent(id, 'pause'); // no change: not counted
    await pauseQueue('webinspect', 'pause');
    try {
      expect(await sample('scanqueue_fleet_actions_total', '{target="agent",action="pause"}')).toBe(
        pauses + 1,
      );
      expect(await sample('scanqueue_fleet_actions_total', '{target="queue",action="pause"}')).toBe(
        queuePauses + 1,
      );
      expect(await sample('scanqueue_agents_paused')).toBe(pausedAgents + 1);
      expect(await sample('scanqueue_scanner_queues_paused')).toBe(1);
      expect(await sample('scanqueue_agents_online')).toBeGreaterThanOrEqual(1);
    } finally {
      await pauseQueue('webinspect', 'resume');
    }
    expect(await sample('scanqueue_scanner_queues_paused')).toBe(0);
  });
});

describeWithNats('fleet events on JetStream', () => {
  let nats: NatsTestServer;
  let withNats: TestServer;
  const run = randomBytes(4).toString('hex');
  const STREAM = `SQFLEET_${run}`;
  const PREFIX = `sqfleet${run}.`;

  beforeAll(async () => {
    nats = await NatsTestServer.start(NATS_SERVER as string);
    // The stream as scanqueue created it before fleet events: it must gain `<prefix>fleet.>`.
    const nc = await connect({ servers: nats.url });
    await (
      await jetstreamManager(nc)
    ).streams.add({ name: STREAM, subjects: [`${PREFIX}task.>`, `${PREFIX}scan.>`] });
    await nc.close();
    withNats = await TestServer.start({
      NATS_URL: nats.url,
      NATS_STREAM: STREAM,
      NATS_SUBJECT_PREFIX: PREFIX,
      OUTBOX_POLL_INTERVAL_MS: '50',
    });
  });
  afterAll(async () => {
    await withNats?.stop();
    await nats?.stop();
  });

  it('publishes pauses and resumes as documented, on a stream that gained the fleet subjects', async () => {
    const agentKey = await givenAgentKey(withNats);
    const id = await agentIdOf(withNats, agentKey);
    for (const [url, status] of [
      [`${R}/scan-agents/${id}/pause`, 200],
      [`${R}/scanner-queues/zap/pause`, 200],
      [`${R}/scanner-queues/zap/resume`, 200],
    ] as const)
      expect((await withNats.postForm(url, withNats.adminKey)).status).toBe(status);

    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const deadline = Date.now() + 20_000;
      let messages: { subject: string; body: Record<string, unknown> }[] = [];
      while (messages.length < 3 && Date.now() < deadline) {
        await sleep(100);
        const info = await jsm.streams.info(STREAM);
        messages = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const message = await jsm.streams.getMessage(STREAM, { seq });
          if (message?.subject.startsWith(`${PREFIX}fleet.`))
            messages.push({
              subject: message.subject,
              body: JSON.parse(new TextDecoder().decode(message.data)) as Record<string, unknown>,
            });
        }
      }
      expect((await jsm.streams.info(STREAM)).config.subjects).toEqual([
        `${PREFIX}task.>`,
        `${PREFIX}scan.>`,
        `${PREFIX}fleet.>`,
      ]);
      const actor = { type: 'api_key', id: expect.any(Number) };
      expect(messages).toEqual([
        {
          subject: `${PREFIX}fleet.agent_paused`,
          body: {
            specVersion: 1,
            id: expect.any(String),
            type: 'fleet.agent_paused',
            occurredAt: expect.any(String),
            agent: { id, apiKeyId: expect.any(Number), paused: true, pausedAt: expect.any(String) },
            actor,
          },
        },
        {
          subject: `${PREFIX}fleet.queue_paused`,
          body: expect.objectContaining({
            type: 'fleet.queue_paused',
            queue: {
              scanner: 'OWASP Zed Attack Proxy',
              scannerShortName: 'zap',
              paused: true,
              pausedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
            },
            actor,
          }),
        },
        {
          subject: `${PREFIX}fleet.queue_resumed`,
          body: expect.objectContaining({
            type: 'fleet.queue_resumed',
            queue: expect.objectContaining({ paused: false, pausedAt: null }),
          }),
        },
      ]);
    } finally {
      await nc.close();
    }
  });
});

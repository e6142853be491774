/**
 * Issue 14's task lifecycle against the built server and a real PostgreSQL: priorities in the
 * claim under concurrent agents, automatic retries (failTask, the reaper), QUEUED expiry and task
 * heartbeats (a silent agent's task taken back).
 */
import {
  ClaimedTask,
  completeTask,
  givenAgentKey,
  givenApplication,
  keysOf,
  queueScan,
  requestTask,
  TASKS,
  ThreadFixTask,
} from './support/agent-flow';
import { TestServer } from './support/test-server';
import { eventually } from './support/eventually';

interface TaskRecord {
  id: number;
  status: number;
  attempt: number;
  retry_limit: number;
  retry_of_task_id: number | null;
  end_time: Date | null;
  not_before: Date | null;
}

async function record(t: TestServer, id: number): Promise<TaskRecord> {
  const [row] = await t.query<TaskRecord>(
    `SELECT id, status, attempt, retry_limit, retry_of_task_id, end_time, not_before
     FROM scan_queue_tasks WHERE id = $1`,
    [id],
  );
  return row;
}

/** The task that retries `id`, if any. */
async function retryOf(t: TestServer, id: number): Promise<TaskRecord | undefined> {
  const [row] = await t.query<{ id: number }>(
    'SELECT id FROM scan_queue_tasks WHERE retry_of_task_id = $1',
    [id],
  );
  return row ? record(t, row.id) : undefined;
}

async function historyOf(t: TestServer, id: number): Promise<string[]> {
  const rows = await t.query<{ message: string }>(
    'SELECT message FROM scan_statuses WHERE task_id = $1 ORDER BY id',
    [id],
  );
  return rows.map((row) => row.message);
}

async function eventsOf(t: TestServer, id: number) {
  return t.query<{ type: string; payload: { task: Record<string, unknown>; message: string } }>(
    `SELECT event_type AS type, payload FROM outbox_events WHERE aggregate_id = $1 ORDER BY id`,
    [id],
  );
}

/** Claims task `id` with `agentKey` (other queued tasks of the scanner are none in these tests). */
async function claim(t: TestServer, agentKey: string, scanner: string, id: number) {
  const res = await requestTask(t, agentKey, scanner);
  if (!res.body.success || res.body.object.taskId !== id)
    throw new Error(`claim of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.object.secureTaskKey;
}

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;

const TASK_COUNT = 1_000;
const AGENT_COUNT = 32;

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>) {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width)
    results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  return results;
}

describe('priority', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start();
  });
  afterAll(() => t?.stop());

  it('gives a task without priority 0, and refuses one out of -100..100', async () => {
    const app = await givenApplication(t);
    const task = await queueScan(t, app, 'acunetix');
    const [row] = await t.query<{ priority: number }>(
      'SELECT priority FROM scan_queue_tasks WHERE id = $1',
      [task.id],
    );
    expect(row.priority).toBe(0);
    const admin = await t.get<{ priority: number }>(`/threadfix/rest/tasks/${task.id}`, t.adminKey);
    expect(admin.body.object.priority).toBe(0);
    for (const priority of ['101', '-101', '1.5', 'high']) {
      const res = await t.postForm('/threadfix/rest/latest/tasks/queueScan', t.adminKey, {
        applicationId: app,
        scannerType: 'acunetix',
        priority,
      });
      expect([res.status, res.body.success]).toEqual([400, false]);
      expect(res.body.message).toMatch(/priority/);
    }
  });

  /** Claim statements run and the claims they made so far (scanqueue_claim_batch_size). */
  async function claimBatches(): Promise<{ statements: number; claims: number }> {
    const metrics = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
    const metric = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    return {
      statements: metric('scanqueue_claim_batch_size_count'),
      claims: metric('scanqueue_claim_batch_size_sum'),
    };
  }

  /**
   * Rounds: all 32 agents ask at once, and the next round starts when every answer of this one is
   * in. When a round's claims began, every task claimed in a later round was queued and unclaimed,
   * so none of them may have a higher priority than any task this round handed out (concurrent
   * claims of one round may pass over each other's locked rows, so order within a round is free).
   */
  it('hands 1,000 mixed-priority tasks to 32 concurrent agents highest priority first, round by round', async () => {
    const app = await givenApplication(t);
    const next = random(14);
    const levels = [-100, -20, 0, 0, 5, 50, 100];
    const priorities = Array.from({ length: TASK_COUNT }, () =>
      next() < 0.5 ? levels[Math.floor(next() * levels.length)] : Math.floor(next() * 201) - 100,
    );
    const queued = await inBatches(priorities, 16, (priority) =>
      queueScan(t, app, 'zap', { priority }),
    );
    const priorityOf = new Map(queued.map((task: ThreadFixTask, i) => [task.id, priorities[i]]));
    const agents = await inBatches(Array.from({ length: AGENT_COUNT }), 8, () => givenAgentKey(t));

    const before = await claimBatches();
    const rounds: number[][] = [];
    for (;;) {
      const answers = await Promise.all(agents.map((agent) => requestTask(t, agent, 'zap')));
      const claimed = answers
        .filter((res) => res.body.success)
        .map((res) => res.body.object.taskId);
      for (const res of answers) {
        if (!res.body.success) expect(res.body.message).toBe('No task found.');
      }
      if (claimed.length === 0) break;
      rounds.push(claimed);
    }

    const all = rounds.flat();
    expect(all.length).toBe(TASK_COUNT);
    expect(new Set(all).size).toBe(TASK_COUNT);
    expect([...all].sort((a, b) => a - b)).toEqual([...priorityOf.keys()].sort((a, b) => a - b));
    // Every round but the last is full: each agent got a task while tasks were left.
    for (const round of rounds.slice(0, -1)) expect(round.length).toBe(AGENT_COUNT);
    let laterMax = -Infinity;
    const inversions: string[] = [];
    for (let r = rounds.length - 1; r >= 0; r--) {
      const values = rounds[r].map((id) => priorityOf.get(id) as number);
      const roundMin = Math.min(...values);
      if (laterMax > roundMin)
        inversions.push(`round ${r} handed out ${roundMin} while ${laterMax} waited`);
      laterMax = Math.max(laterMax, ...values);
    }
    expect(inversions).toEqual([]);
    // Equal priorities go oldest first: within one level, a later round never has an older task.
    const claimedIn = new Map(rounds.flatMap((round, r) => round.map((id) => [id, r] as const)));
    const byAge = [...priorityOf.entries()].sort(([a], [b]) => a - b);
    const latestRoundOfLevel = new Map<number, number>();
    const overtaken: number[] = [];
    for (const [id, priority] of byAge) {
      const round = claimedIn.get(id) as number;
      if (round < (latestRoundOfLevel.get(priority) ?? 0)) overtaken.push(id);
      latestRoundOfLevel.set(priority, Math.max(round, latestRoundOfLevel.get(priority) ?? 0));
    }
    expect(overtaken).toEqual([]);
    // Concurrent claims shared statements (src/tasks/claim-batcher.ts), each claim in one of them.
    const after = await claimBatches();
    const statements = after.statements - before.statements;
    const claims = after.claims - before.claims;
    expect(claims).toBeGreaterThanOrEqual(TASK_COUNT);
    expect(claims).toBeLessThanOrEqual((rounds.length + 1) * AGENT_COUNT);
    expect(statements).toBeLessThan(claims);
  });
});

describe('automatic retries', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({
      REAPER_INTERVAL_SECONDS: '1',
      TASK_RETRY_POLICY: JSON.stringify({
        default: { limit: 0 },
        'OWASP ZAP': { limit: 2, delaySeconds: 2, backoff: true },
      }),
    });
  });
  afterAll(() => t?.stop());

  it('retries a task its agent failed up to the limit and no further, backing off', async () => {
    const app = await givenApplication(t);
    const agentKey = await givenAgentKey(t);
    let task = await queueScan(t, app, 'zap');
    expect((await record(t, task.id)).retry_limit).toBe(2);
    const chain: TaskRecord[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const current = await record(t, task.id);
      if (current.not_before) {
        // Before its not_before the retry is not handed out.
        if (Date.now() < current.not_before.getTime() - 500)
          expect((await requestTask(t, agentKey, 'zap')).body.message).toBe('No task found.');
        await eventually('the retry to be due', async () =>
          Date.now() > (current.not_before as Date).getTime() + 50 ? true : undefined,
        );
      }
      const secureTaskKey = await claim(t, agentKey, 'zap', task.id);
      const failed = await t.postForm<string>(`${TASKS}/failTask`, t.adminKey, {
        ...keysOf({ applicationId: app, taskId: task.id, agentKey, secureTaskKey }),
        message: `crash ${attempt}`,
      });
      expect(failed.status).toBe(200);
      chain.push(await record(t, task.id));
      const next = await retryOf(t, task.id);
      if (attempt === 3) {
        expect(next).toBeUndefined();
        break;
      }
      expect(next).toMatchObject({ status: 1, attempt: attempt + 1, retry_of_task_id: task.id });
      const ended = chain[chain.length - 1];
      // delaySeconds 2 × 2^(attempt-1), ±20 % jitter.
      const delay = seconds(ended.end_time as Date, (next as TaskRecord).not_before as Date);
      const base = 2 * 2 ** (attempt - 1);
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
      expect(await historyOf(t, task.id)).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^Retrying as task ${(next as TaskRecord).id} \\(attempt ${attempt + 1} of 3\\) not before \\d{4}-`,
          ),
        ),
      );
      expect(await historyOf(t, (next as TaskRecord).id)).toEqual([
        `Attempt ${attempt + 1} of 3, retrying task ${task.id} which failed on its agent`,
      ]);
      const [queued] = await eventsOf(t, (next as TaskRecord).id);
      expect(queued.type).toBe('task.queued');
      expect(queued.payload.task).toMatchObject({
        attempt: attempt + 1,
        attempts: 3,
        retryOfTaskId: task.id,
      });
      task = { ...task, id: (next as TaskRecord).id };
    }
    expect(chain.map((row) => [row.status, row.attempt])).toEqual([
      [6, 1],
      [6, 2],
      [6, 3],
    ]);
    const failedEvents = await eventsOf(t, chain[2].id);
    expect(failedEvents.map((e) => e.type)).toEqual([
      'task.queued',
      'task.assigned',
      'task.failed',
    ]);
    expect(failedEvents[2].payload.task).toMatchObject({ attempt: 3, attempts: 3 });
    const metrics = await fetch(`${t.baseUrl}/threadfix/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/scanqueue_task_retries_total\{scanner="zap"\} 2/);
  });

  it("retries a task the reaper timed out, under queueScan's own policy, up to its limit", async () => {
    const app = await givenApplication(t);
    const agentKey = await givenAgentKey(t);
    const first = await queueScan(t, app, 'burp', {
      timeoutSeconds: 1,
      retryLimit: 1,
      retryDelaySeconds: 1,
      retryBackoff: 'false',
    });
    await claim(t, agentKey, 'burp', first.id);
    const retry = await eventually('the retry', () => retryOf(t, first.id));
    const timedOut = await record(t, first.id);
    expect(timedOut.status).toBe(5);
    expect(retry).toMatchObject({ status: 1, attempt: 2, retry_limit: 1 });
    const delay = seconds(timedOut.end_time as Date, retry.not_before as Date);
    expect(delay).toBeGreaterThanOrEqual(0.8);
    expect(delay).toBeLessThanOrEqual(1.2);
    expect((await historyOf(t, first.id)).slice(-2)).toEqual([
      expect.stringMatching(/^Task timed out: no result by /),
      expect.stringMatching(new RegExp(`^Retrying as task ${retry.id} \\(attempt 2 of 2\\)`)),
    ]);
    expect(await historyOf(t, retry.id)).toEqual([
      `Attempt 2 of 2, retrying task ${first.id} which timed out`,
    ]);
    await eventually('the retry to be due', async () =>
      Date.now() > (retry.not_before as Date).getTime() + 50 ? true : undefined,
    );
    await claim(t, agentKey, 'burp', retry.id);
    await eventually('the last attempt to time out', async () =>
      (await record(t, retry.id)).status === 5 ? true : undefined,
    );
    // Give the reaper another round: still no third attempt.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await retryOf(t, retry.id)).toBeUndefined();
  });

  it('never retries a cancelled task, queued or assigned', async () => {
    const app = await givenApplication(t);
    const agentKey = await givenAgentKey(t);
    const queued = await queueScan(t, app, 'zap');
    const assigned = await queueScan(t, app, 'zap');
    await t.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, t.adminKey);
    await claim(t, agentKey, 'zap', assigned.id);
    const cancel = await t.postForm(`/threadfix/rest/tasks/${assigned.id}/cancel`, t.adminKey);
    expect(cancel.status).toBe(200);
    for (const id of [queued.id, assigned.id]) {
      expect((await record(t, id)).status).toBe(4);
      expect(await retryOf(t, id)).toBeUndefined();
    }
  });
});

describe('QUEUED expiry and task heartbeats', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({
      REAPER_INTERVAL_SECONDS: '1',
      QUEUED_TASK_EXPIRY_SECONDS: '3',
      TASK_SILENCE_SECONDS: '2',
      TASK_RETRY_POLICY: JSON.stringify({ default: { limit: 1, delaySeconds: 0 } }),
    });
  });
  afterAll(() => t?.stop());

  it('times out a task never claimed, saying so, and does not retry it', async () => {
    const app = await givenApplication(t);
    const task = await queueScan(t, app, 'webinspect');
    await eventually('the expiry', async () =>
      (await record(t, task.id)).status === 5 ? true : undefined,
    );
    const history = await historyOf(t, task.id);
    expect(history[history.length - 1]).toMatch(
      /^Task timed out: never claimed, queued since \d{4}-.*\(QUEUED_TASK_EXPIRY_SECONDS 3\)$/,
    );
    const [, timedOut] = await eventsOf(t, task.id);
    expect(timedOut.type).toBe('task.timedout');
    expect(await retryOf(t, task.id)).toBeUndefined();
  });

  it('takes a task back from a silent agent, retries it, and refuses the late agent with 409', async () => {
    const app = await givenApplication(t);
    const agentKey = await givenAgentKey(t);
    const task = await queueScan(t, app, 'zap');
    const secureTaskKey = await claim(t, agentKey, 'zap', task.id);
    const claimed: ClaimedTask = { applicationId: app, taskId: task.id, agentKey, secureTaskKey };
    const retry = await eventually('the retry', () => retryOf(t, task.id));
    expect(retry).toMatchObject({ attempt: 2, retry_of_task_id: task.id });
    expect((await record(t, task.id)).status).toBe(5);
    const history = await historyOf(t, task.id);
    expect(history).toContainEqual(
      expect.stringMatching(
        /^Task timed out: its agent was silent since \d{4}-.*\(TASK_SILENCE_SECONDS 2\)$/,
      ),
    );
    expect(await historyOf(t, retry.id)).toEqual([
      `Attempt 2 of 2, retrying task ${task.id} which was taken back from its silent agent`,
    ]);
    const late = await completeTask(t, claimed, { name: 'zap.xml', content: '<OWASPZAPReport/>' });
    expect([late.status, late.body.success]).toEqual([409, false]);
    expect(late.body.message).toMatch(
      new RegExp(`^ScanQueueTask ${task.id} was taken back at .*: no call from its agent since `),
    );
    const status = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keysOf(claimed),
      message: 'still here',
    });
    expect(status.status).toBe(409);
    const fail = await t.postForm(`${TASKS}/failTask`, t.adminKey, {
      ...keysOf(claimed),
      message: 'gave up',
    });
    expect(fail.status).toBe(409);
  });

  it('keeps a task whose agent posts progress within the silence', async () => {
    const app = await givenApplication(t);
    const agentKey = await givenAgentKey(t);
    const task = await queueScan(t, app, 'acunetix');
    const secureTaskKey = await claim(t, agentKey, 'acunetix', task.id);
    const claimed: ClaimedTask = { applicationId: app, taskId: task.id, agentKey, secureTaskKey };
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const res = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
        ...keysOf(claimed),
        message: `running ${i}`,
      });
      expect(res.status).toBe(200);
    }
    expect((await record(t, task.id)).status).toBe(2);
  });
});

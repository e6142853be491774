/**
 * The guards of tasks' hand-written SQL (src/tasks/task-transitions.repository.ts), against the
 * real PostgreSQL: a statement whose guard fails changes nothing (no status, no history row, no
 * event), a claim passes over a row another transaction holds, and each change writes its history
 * row and its event in the same statement.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { hashSecretKey } from '../src/auth/secret-keys';
import { TaskStatus } from '../src/tasks/task-status';
import { givenAgentKey, givenApplication, queueScan } from './support/agent-flow';
import { TestServer } from './support/test-server';

const EVERY_TEAM = { teamIds: null };
const DIST_TASKS = path.resolve(__dirname, '../dist/src/tasks');
/** The repository class and file of each statement called (the reaper's live beside the others). */
const REPOSITORIES: Record<string, [string, string]> = {
  timeOutOverdueTasks: ['TaskReaperRepository', 'task-reaper.repository.js'],
};
const TRANSITIONS: [string, string] = [
  'TaskTransitionsRepository',
  'task-transitions.repository.js',
];

/**
 * One repository call on its own connection, in a Node process running the build (Nest's runtime
 * does not load under Jest on Node 20; the servers run from dist/ for the same reason).
 */
const CALL = `
const { DataSource } = require('typeorm');
const Repository = require(process.env.REPOSITORY)[process.env.REPOSITORY_CLASS];
(async () => {
  const { method, args } = JSON.parse(process.env.CALL);
  // A real EntityManager, as the service passes: hot statements run as pg named statements.
  const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, poolSize: 1 });
  await dataSource.initialize();
  const result = await new Repository()[method](dataSource.manager, ...args);
  await dataSource.destroy();
  process.stdout.write(JSON.stringify(result ?? null));
})();`;

const ZAP = { displayName: 'OWASP Zed Attack Proxy', shortName: 'zap' };
const SYSTEM = { type: 'system' as const, id: null };

interface ClaimAnswer {
  agentId: number | null;
  agentPaused: boolean;
  task?: { id: number; status: number };
}

describe('TaskTransitionsRepository guards', () => {
  let t: TestServer;
  let apiKeyId: number;

  async function call<T>(method: string, ...args: unknown[]): Promise<T> {
    const [repositoryClass, file] = REPOSITORIES[method] ?? TRANSITIONS;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', CALL], {
      env: {
        ...process.env,
        DATABASE_URL: t.env.DATABASE_URL,
        REPOSITORY: path.join(DIST_TASKS, file),
        REPOSITORY_CLASS: repositoryClass,
        CALL: JSON.stringify({ method, args }),
      },
    });
    return JSON.parse(stdout) as T;
  }

  beforeAll(async () => {
    t = await TestServer.start();
    [{ id: apiKeyId }] = await t.query<{ id: number }>(
      'SELECT id FROM api_keys WHERE key_hash = $1',
      [hashSecretKey(t.adminKey)],
    );
  });
  afterAll(() => t?.stop());

  const trail = async (taskId: number) => ({
    status: (
      await t.query<{ status: number }>('SELECT status FROM scan_queue_tasks WHERE id = $1', [
        taskId,
      ])
    )[0].status,
    history: (
      await t.query<{ to_status: number | null }>(
        'SELECT to_status FROM scan_statuses WHERE task_id = $1 ORDER BY id',
        [taskId],
      )
    ).map((row) => row.to_status),
    events: (
      await t.query<{ event_type: string }>(
        `SELECT event_type FROM outbox_events WHERE aggregate_id = $1 AND event_type LIKE 'task.%' ORDER BY id`,
        [taskId],
      )
    ).map((row) => row.event_type),
  });

  /** claimNextTask's argument: a zap claim by the agent key whose hash is given. */
  const claimOf = (agentKeyHash: string) => ({
    apiKeyId,
    scope: EVERY_TEAM,
    scanners: [ZAP],
    agentKeyHash,
    secureKeyHash: hashSecretKey('task-key'),
    agentInfo: null,
    message: 'claimed',
  });
  const claimFor = (agentKey: string) =>
    call<ClaimAnswer>('claimNextTask', claimOf(hashSecretKey(agentKey)));

  /**
   * The claim's plans (custom and generic, as a prepared statement gets after five runs) with
   * `queued` tasks of one scanner in the queue: EXPLAIN EXECUTE of the named statement the
   * repository prepared, on its own connection.
   */
  async function claimPlans(agentKeyHash: string): Promise<Record<string, string>> {
    const script = `
const { DataSource } = require('typeorm');
const { TaskTransitionsRepository } = require(process.env.REPOSITORY);
(async () => {
  const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, poolSize: 1 });
  await dataSource.initialize();
  const claim = JSON.parse(process.env.CLAIM);
  await new TaskTransitionsRepository().claimNextTask(dataSource.manager, claim);
  // Literals (EXPLAIN EXECUTE takes no bind parameters): a hex hash and an integer.
  const args = [\`'{\${claim.agentKeyHash}}'\`, \`'{"OWASP Zed Attack Proxy"}'\`, \`'{zap}'\`, \`'{k}'\`, \`'{NULL}'\`, \`'{m}'\`, Number(claim.apiKeyId), 'NULL'];
  const plans = {};
  for (const mode of ['force_custom_plan', 'force_generic_plan']) {
    await dataSource.query('SET plan_cache_mode = ' + mode);
    const rows = await dataSource.query('EXPLAIN EXECUTE claim_next_tasks(' + args.join(', ') + ')');
    plans[mode] = rows.map((row) => row['QUERY PLAN']).join('\\n');
  }
  await dataSource.destroy();
  process.stdout.write(JSON.stringify(plans));
})();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: {
        ...process.env,
        DATABASE_URL: t.env.DATABASE_URL,
        REPOSITORY: path.join(DIST_TASKS, TRANSITIONS[1]),
        CLAIM: JSON.stringify(claimOf(agentKeyHash)),
      },
    });
    return JSON.parse(stdout) as Record<string, string>;
  }

  it('reads a deep queue of one scanner in index order, never sorting it (EXPLAIN)', async () => {
    // 3,000 queued tasks of one scanner, then statistics: a predicate PostgreSQL cannot estimate
    // (`scanner <> ALL (ARRAY(…))`) once made it expect one row and sort the whole queue.
    const application = await givenApplication(t);
    await t.query(
      `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds)
       SELECT $1, 'OWASP Zed Attack Proxy', 1, 600 FROM generate_series(1, 3000)`,
      [application],
    );
    await t.query('ANALYZE scan_queue_tasks');
    try {
      // An unknown agent key: the plan is the point, nothing is claimed.
      const plans = await claimPlans(hashSecretKey('no-such-agent'));
      for (const [mode, plan] of Object.entries(plans)) {
        expect([
          mode,
          /Index Scan using scan_queue_tasks_(queued|claimable)_idx/.test(plan),
        ]).toEqual([mode, true]);
        expect([mode, /Sort|Seq Scan on scan_queue_tasks/.test(plan)]).toEqual([mode, false]);
      }
    } finally {
      await t.query(`UPDATE scan_queue_tasks SET status = 4 WHERE application_id = $1`, [
        application,
      ]);
    }
  });

  it('moves a task only from a status the table allows, with its history row and event', async () => {
    const task = await queueScan(t, await givenApplication(t), 'zap');
    expect(
      await call('transitionTask', task.id, TaskStatus.COMPLETE_SUCCESSFUL, 'no', SYSTEM),
    ).toBeNull();
    expect(await trail(task.id)).toEqual({ status: 1, history: [1], events: ['task.queued'] });

    const cancelled = await call<{ status: number }>(
      'transitionTask',
      task.id,
      TaskStatus.COMPLETE_DELETED,
      'cancelled',
      SYSTEM,
    );
    expect(cancelled?.status).toBe(TaskStatus.COMPLETE_DELETED);
    expect(await trail(task.id)).toEqual({
      status: 4,
      history: [1, 4],
      events: ['task.queued', 'task.cancelled'],
    });
    // Terminal: a second move changes nothing.
    expect(
      await call('transitionTask', task.id, TaskStatus.COMPLETE_DELETED, 'again', SYSTEM),
    ).toBeNull();
    expect((await trail(task.id)).history).toEqual([1, 4]);
  });

  it('claims past a queued row another transaction holds, and claims nothing for an unknown key', async () => {
    // Only this test's tasks are queued for zap from here on: the earlier one was cancelled.
    const application = await givenApplication(t);
    const first = await queueScan(t, application, 'zap');
    const second = await queueScan(t, application, 'zap');
    const agentKey = await givenAgentKey(t);

    const unknown = await claimFor('not-an-agent-key');
    expect(unknown).toEqual({
      agentId: null,
      agentPaused: false,
      applicationUrl: null,
      configFile: null,
    });

    const holder = await t.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM scan_queue_tasks WHERE id = $1 FOR UPDATE', [first.id]);
      const claim = await claimFor(agentKey);
      expect(claim.task?.id).toBe(second.id);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await trail(first.id)).toEqual({ status: 1, history: [1], events: ['task.queued'] });
    expect(await trail(second.id)).toEqual({
      status: 2,
      history: [1, 2],
      events: ['task.queued', 'task.assigned'],
    });
    // Once released, the held row is the next one claimed.
    expect((await claimFor(agentKey)).task?.id).toBe(first.id);
    expect((await claimFor(agentKey)).task).toBeUndefined();
  });

  it('claims for a batch: a task each for known agents while tasks last, none for an unknown key or a paused agent', async () => {
    const application = await givenApplication(t);
    const tasks = [await queueScan(t, application, 'zap'), await queueScan(t, application, 'zap')];
    const [first, second, third, paused] = [
      await givenAgentKey(t),
      await givenAgentKey(t),
      await givenAgentKey(t),
      await givenAgentKey(t),
    ];
    await t.query('UPDATE scan_agents SET paused_at = now() WHERE key_hash = $1', [
      hashSecretKey(paused),
    ]);
    const agentIdOf = async (key: string) =>
      (
        await t.query<{ id: number }>('SELECT id FROM scan_agents WHERE key_hash = $1', [
          hashSecretKey(key),
        ])
      )[0].id;
    const keys = [first, 'not-an-agent-key', paused, second, third];
    const claims = keys.map((key, i) => ({
      ...claimOf(hashSecretKey(key)),
      secureKeyHash: hashSecretKey(`task-key-${i}`),
      agentInfo: `agent ${i}`,
      message: `claim ${i}`,
    }));
    const answers = await call<ClaimAnswer[]>('claimNextTasks', claims);

    // In the claims' order: the unknown key's answer says so, the paused agent's says paused.
    expect(answers.map((answer) => answer.agentId)).toEqual([
      await agentIdOf(first),
      null,
      await agentIdOf(paused),
      await agentIdOf(second),
      await agentIdOf(third),
    ]);
    expect(answers.map((answer) => answer.agentPaused)).toEqual([false, false, true, false, false]);
    expect([answers[1].task, answers[2].task]).toEqual([undefined, undefined]);
    // Three agents may claim, two tasks are queued: two of them get one each, the third none.
    const handedOut = answers.flatMap((answer, i) => (answer.task ? [[i, answer.task.id]] : []));
    expect(handedOut.map(([, id]) => id).sort()).toEqual(tasks.map((task) => task.id).sort());
    expect(handedOut.every(([i]) => [0, 3, 4].includes(i))).toBe(true);
    // Each task records its own claim: agent, task key, agentConfig, history message and event.
    for (const [i, id] of handedOut) {
      const [row] = await t.query<Record<string, unknown>>(
        `SELECT t.scan_agent_id, t.secure_key_hash, t.scan_agent_info, s.message, e.payload->>'message' AS event_message
         FROM scan_queue_tasks t
         JOIN scan_statuses s ON s.task_id = t.id AND s.to_status = 2
         JOIN outbox_events e ON e.aggregate_id = t.id AND e.event_type = 'task.assigned'
         WHERE t.id = $1`,
        [id],
      );
      expect(row).toEqual({
        scan_agent_id: answers[i].agentId,
        secure_key_hash: hashSecretKey(`task-key-${i}`),
        scan_agent_info: `agent ${i}`,
        message: `claim ${i}`,
        event_message: `claim ${i}`,
      });
      expect(await trail(id)).toEqual({
        status: 2,
        history: [1, 2],
        events: ['task.queued', 'task.assigned'],
      });
    }
  });

  it('appends an agent message only with the task key the claim issued, and only while assigned', async () => {
    const task = await queueScan(t, await givenApplication(t), 'zap');
    const agentKey = await givenAgentKey(t);
    expect((await claimFor(agentKey)).task?.id).toBe(task.id);
    const message = (taskKey: string) =>
      call<{ added: boolean }>('appendAgentStatusMessage', {
        taskId: task.id,
        message: 'scanning',
        agentKeyHash: hashSecretKey(agentKey),
        taskKeyHash: hashSecretKey(taskKey),
        apiKeyId,
        scope: EVERY_TEAM,
        maxMessages: 2,
      });
    expect((await message('wrong-key')).added).toBe(false);
    expect((await message('task-key')).added).toBe(true);
    expect((await message('task-key')).added).toBe(true);
    expect((await message('task-key')).added).toBe(false); // the bound
    expect(await trail(task.id)).toEqual({
      status: 2,
      history: [1, 2, null, null],
      events: ['task.queued', 'task.assigned', 'task.status', 'task.status'],
    });
    // A note on a task that is not complete is refused, as is a timeout before it is due.
    expect(await call('appendCompletedTaskNote', task.id, 'imported')).toBe(false);
    const reapedIds = async () =>
      (await call<{ id: number }[]>('timeOutOverdueTasks', 100)).map((row) => row.id);
    expect(await reapedIds()).not.toContain(task.id);

    await t.query(
      `UPDATE scan_queue_tasks SET timeout_time = now() - interval '1 second' WHERE id = $1`,
      [task.id],
    );
    expect(await reapedIds()).toEqual([task.id]);
    expect((await message('task-key')).added).toBe(false);
    expect(await trail(task.id)).toMatchObject({ status: 5, history: [1, 2, null, null, 5] });
  });
});

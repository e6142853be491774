/**
 * Three scanqueue processes on one PostgreSQL and one storage folder; 96 agents spread over them
 * claim and finish 5,000 tasks while other agents die holding short-timeout tasks that the reapers
 * of all three instances time out. Every task is claimed exactly once, every transition has
 * exactly one history row, every overdue task is timed out exactly once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AgentTask, fixture, TASKS } from './support/agent-flow';
import { TestServer } from './support/test-server';

const WORK_TASKS = 5000;
const EXPIRING_TASKS = 150;
const AGENTS_PER_INSTANCE = 32;
const DYING_AGENTS_PER_INSTANCE = 2;

let servers: TestServer[];
let requests = 0;

beforeAll(async () => {
  // Started at the same moment on an empty database: the migration lock keeps them from colliding.
  servers = await TestServer.startCluster(3, {
    REAPER_INTERVAL_SECONDS: '1',
    DATABASE_POOL_SIZE: '10',
  });
}, 60_000);
afterAll(async () => {
  for (const server of [...(servers ?? [])].reverse()) await server.stop();
});

async function call<T>(
  promise: Promise<{ status: number; body: { success: boolean; message: string; object: T } }>,
) {
  requests++;
  const res = await promise;
  return res;
}

/** Runs `count` jobs with at most `width` in flight. */
async function inParallel(
  count: number,
  width: number,
  job: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

it(`${WORK_TASKS} tasks, 3 instances, ${AGENTS_PER_INSTANCE * 3} agents: each task claimed once, each transition recorded once`, async () => {
  const [a] = servers;
  const app = await call<{ id: number }>(
    a.postJson('/threadfix/rest/applications', a.adminKey, {
      name: 'fleet',
      url: 'http://fleet.example/',
    }),
  );
  const applicationId = app.body.object.id;

  const queue = async (i: number, scannerType: string, extra: Record<string, number> = {}) => {
    const server = servers[i % 3];
    const res = await call<{ id: number }>(
      server.postForm(`${TASKS}/queueScan`, server.adminKey, {
        applicationId,
        scannerType,
        ...extra,
      }),
    );
    expect(res.status).toBe(200);
  };
  await inParallel(WORK_TASKS, 48, (i) => queue(i, 'zap'));
  await inParallel(EXPIRING_TASKS, 16, (i) => queue(i, 'burp', { timeoutSeconds: 2 }));

  const agentKey = async (server: TestServer) =>
    (await call<string>(server.get(`${TASKS}/requestScanAgentKey`, server.adminKey))).body.object;
  const report = fixture('zap/5_zap_sample_one.xml');
  const claimedBy = new Map<string, number[]>();
  const failedOnPurpose = new Set<number>();
  /** An agent with its own key, polling one instance; records every task it is handed. */
  const newAgent = async (server: TestServer, scanners: string, agentConfig: string) => {
    const key = await agentKey(server);
    const mine: number[] = [];
    claimedBy.set(key, mine);
    const claim = async () => {
      const res = await call<AgentTask>(
        server.postForm(`${TASKS}/requestTask`, server.adminKey, {
          scanners,
          agentConfig,
          scanAgentSecureKey: key,
        }),
      );
      if (res.body.success) mine.push(res.body.object.taskId);
      return res;
    };
    return { key, claim };
  };

  const worker = async (server: TestServer) => {
    const agent = await newAgent(server, 'zap', 'fleet');
    for (;;) {
      const claim = await agent.claim();
      if (!claim.body.success) {
        expect(claim.body.message).toBe('No task found.');
        return;
      }
      const task = claim.body.object;
      const keys = {
        scanQueueTaskId: task.taskId,
        secureTaskKey: task.secureTaskKey,
        scanAgentSecureKey: agent.key,
      };
      expect(
        (
          await call(
            server.postForm(`${TASKS}/taskStatusUpdate`, server.adminKey, {
              ...keys,
              message: 'scanning',
            }),
          )
        ).status,
      ).toBe(200);
      if (task.taskId % 10 === 0) {
        failedOnPurpose.add(task.taskId);
        expect(
          (
            await call(
              server.postForm(`${TASKS}/failTask`, server.adminKey, {
                ...keys,
                message: 'scanner crashed',
              }),
            )
          ).status,
        ).toBe(200);
      } else {
        const done = await call<{ status: number }>(
          server.postMultipart(`${TASKS}/completeTask`, server.adminKey, keys, {
            name: 'ZAPRESULTS.xml',
            content: report,
          }),
        );
        expect(done.status).toBe(200);
      }
    }
  };
  /** Claims expiring tasks and dies: never reports, never completes. */
  const dyingAgent = async (server: TestServer) => {
    const agent = await newAgent(server, 'Burp Suite Pro', 'doomed');
    while ((await agent.claim()).body.success);
  };
  await Promise.all(
    servers.flatMap((server) => [
      ...Array.from({ length: AGENTS_PER_INSTANCE }, () => worker(server)),
      ...Array.from({ length: DYING_AGENTS_PER_INSTANCE }, () => dyingAgent(server)),
    ]),
  );

  // The reapers (on all three instances) time the dead agents' tasks out.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const [{ left }] = await a.query<{ left: number }>(
      `SELECT count(*)::int AS left FROM scan_queue_tasks WHERE scanner = 'Burp Suite Pro' AND status <> 5`,
    );
    if (left === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const claimed = [...claimedBy.values()].flat();
  expect(claimed).toHaveLength(WORK_TASKS + EXPIRING_TASKS);
  expect(new Set(claimed).size).toBe(WORK_TASKS + EXPIRING_TASKS);
  const busyAgents = [...claimedBy.values()].filter((ids) => ids.length > 0).length;

  const tasks = await a.query<{ id: number; scanner: string; status: number; agent: number }>(
    'SELECT id, scanner, status, scan_agent_id AS agent FROM scan_queue_tasks',
  );
  expect(tasks).toHaveLength(WORK_TASKS + EXPIRING_TASKS);
  for (const task of tasks) {
    const expected = task.scanner === 'Burp Suite Pro' ? 5 : failedOnPurpose.has(task.id) ? 6 : 3;
    if (task.status !== expected)
      throw new Error(`task ${task.id} (${task.scanner}) is ${task.status}, expected ${expected}`);
  }

  // Exactly one history row per transition: created (→1), claimed (1→2), finished (2→3|5|6).
  const history = await a.query<{ task_id: number; transitions: string; messages: number }>(
    `SELECT task_id,
              string_agg(coalesce(from_status::text, '-') || '>' || to_status, ' ' ORDER BY id) FILTER (WHERE to_status IS NOT NULL) AS transitions,
              count(*) FILTER (WHERE to_status IS NULL)::int AS messages
       FROM scan_statuses GROUP BY task_id`,
  );
  expect(history).toHaveLength(WORK_TASKS + EXPIRING_TASKS);
  const byTask = new Map(tasks.map((task) => [task.id, task]));
  for (const row of history) {
    const task = byTask.get(row.task_id);
    const expected = `->1 1>2 2>${task?.status}`;
    if (row.transitions !== expected)
      throw new Error(`task ${row.task_id}: history ${row.transitions}, expected ${expected}`);
    expect(row.messages).toBe(task?.scanner === 'Burp Suite Pro' ? 0 : 1);
  }

  // Every successful task has its stored scan, byte for byte; nothing else has one.
  const scans = await a.query<{ task_id: number; storage_key: string; sha256: string }>(
    'SELECT task_id, storage_key, sha256 FROM scans',
  );
  const successful = tasks.filter((task) => task.status === 3).map((task) => task.id);
  expect(scans.map((scan) => scan.task_id).sort((x, y) => x - y)).toEqual(
    successful.sort((x, y) => x - y),
  );
  const reportSha = createHash('sha256').update(report).digest('hex');
  for (const scan of scans.slice(0, 200)) {
    expect(scan.sha256).toBe(reportSha);
    const stored = await readFile(path.join(a.dataDir, 'scans', scan.storage_key));
    expect(createHash('sha256').update(stored).digest('hex')).toBe(reportSha);
  }

  const perInstance = await Promise.all(
    servers.map((server) => server.get(`${TASKS}/scanners`, server.adminKey)),
  );
  expect(perInstance.map((res) => res.status)).toEqual([200, 200, 200]);
  console.log(
    `many-instances: ${requests} requests over 3 instances, ${claimed.length} tasks claimed by ${busyAgents} agents, ` +
      `${successful.length} completed, ${failedOnPurpose.size} failed, ${EXPIRING_TASKS} timed out`,
  );
}, 600_000);

/**
 * Long polls at fleet scale (issue 15's acceptance): 200 agents long-polling across 3 instances
 * and 2,000 tasks queued in bursts: every task is claimed exactly once, and promptly after its
 * burst (no waiter left asleep while a task it could take stays queued). And a PostgreSQL restart
 * during waits loses no task.
 */
import { givenAgentKey, TASKS } from './support/agent-flow';
import { serverOnRestartablePostgres } from './support/restartable-postgres';
import { apiKeyHeader, TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const ZAP = 'OWASP Zed Attack Proxy';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An agent polling with a wait until `stopped()`; the tasks it got, in `claimed`. */
async function agentLoop(
  t: TestServer,
  agentKey: string,
  claimed: number[],
  stopped: () => boolean,
): Promise<void> {
  while (!stopped()) {
    try {
      const response = await fetch(`${t.baseUrl}${TASKS}/requestTask`, {
        method: 'POST',
        headers: apiKeyHeader(t.adminKey),
        body: new URLSearchParams({
          scanners: ZAP,
          scanAgentSecureKey: agentKey,
          waitSeconds: '20',
        }),
      });
      const body = (await response.json()) as { object: { taskId: number } | null };
      if (body.object?.taskId) claimed.push(body.object.taskId);
      else if (response.status !== 200) await sleep(200);
    } catch {
      await sleep(200); // the server or the database is away: try again
    }
  }
}

async function givenApp(t: TestServer): Promise<number> {
  const [team] = await t.query<{ id: number }>('SELECT id FROM teams WHERE is_default');
  const [app] = await t.query<{ id: number }>(
    `INSERT INTO applications (name, team_id, url) VALUES ('long-poll', $1, 'http://target.example/') RETURNING id`,
    [team.id],
  );
  return app.id;
}

/** Queues `count` zap tasks in one statement (one commit: a burst of notifications). */
const queueBurst = (t: TestServer, app: number, count: number) =>
  t.query(
    `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds)
     SELECT $1, $2, 1, 600 FROM generate_series(1, $3::int)`,
    [app, ZAP, count],
  );

const queuedCount = async (t: TestServer) =>
  (
    await t.query<{ n: number }>('SELECT count(*)::int AS n FROM scan_queue_tasks WHERE status = 1')
  )[0].n;

describe('200 agents long-polling across 3 instances', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await TestServer.startCluster(3, { DATABASE_POOL_SIZE: '10' });
  }, 60_000);
  afterAll(async () => {
    for (const server of [...(servers ?? [])].reverse()) await server.stop();
  });

  it('claims 2,000 tasks queued in 20 bursts, each exactly once, each within 2 s of its burst', async () => {
    const [a] = servers;
    const app = await givenApp(a);
    const keys = await Promise.all(Array.from({ length: 200 }, () => givenAgentKey(a)));
    const claimed: number[] = [];
    let stop = false;
    const agents = keys.map((key, i) => agentLoop(servers[i % 3], key, claimed, () => stop));
    await sleep(1500); // every agent is waiting now
    for (let burst = 0; burst < 20; burst++) {
      // A burst no larger than the waiters: each task wakes a waiter of its own.
      await queueBurst(a, app, 100);
      await eventually('the burst claimed', async () => (await queuedCount(a)) === 0);
      await sleep(300);
    }
    stop = true;
    // Stopping the servers answers the agents still waiting ("No task found.").
    for (const server of [...servers].reverse()) await server.kill('SIGTERM');
    await Promise.all(agents);
    expect(claimed).toHaveLength(2000);
    expect(new Set(claimed).size).toBe(2000);
    const slow = await a.query<{ id: number; seconds: number }>(
      `SELECT id, extract(epoch FROM start_time - created_at)::float AS seconds
       FROM scan_queue_tasks WHERE start_time - created_at >= interval '2 seconds'`,
    );
    expect(slow).toEqual([]);
    const [{ assigned }] = await a.query<{ assigned: number }>(
      `SELECT count(*)::int AS assigned FROM scan_statuses WHERE to_status = 2`,
    );
    expect(assigned).toBe(2000);
  }, 120_000);
});

describe('a PostgreSQL restart during waits', () => {
  const setup = serverOnRestartablePostgres();

  it('loses no task: one queued right after the restart is claimed by a waiting agent', async () => {
    const { pg, server: t } = setup;
    const app = await givenApp(t);
    const keys = await Promise.all([1, 2, 3].map(() => givenAgentKey(t)));
    const claimed: number[] = [];
    let stop = false;
    const agents = keys.map((key) => agentLoop(t, key, claimed, () => stop));
    await sleep(1000);
    await pg.stop();
    await sleep(1000);
    await pg.start();
    await eventually('the database back', async () => {
      try {
        await queueBurst(t, app, 5);
        return true;
      } catch {
        return false;
      }
    });
    await eventually('the tasks claimed', async () => claimed.length === 5, 20_000);
    expect(new Set(claimed).size).toBe(5);
    stop = true;
    await t.kill('SIGTERM');
    await Promise.all(agents);
  }, 120_000);
});

/**
 * Cheap empty polls (issue 15 item 3), on two real instances and a real PostgreSQL: once a claim
 * found nothing, the next polls of a known agent key for the same scanners send PostgreSQL no
 * statement (counted by the server's scanqueue_database_queries_total), and still miss no task:
 * one queued on the other instance is claimed by the very next poll (the NOTIFY clears the mark).
 * The agent key's checks stay as they were: unknown, revoked or presented with another API key,
 * 403; a paused agent, a paused queue and their resumes behave as before; a key limited to teams
 * proves only its own teams' queues empty.
 */
import { agentIdOf, agentKeyOf, givenAppInTeam, givenKey, givenTeam, R } from './access-fixtures';
import { AgentTask, givenAgentKey, givenApplication, queueScan, TASKS } from './support/agent-flow';
import { RestResult, TestServer } from './support/test-server';

const BAD_AGENT_KEY = 'Secure scan agent key was not recognized.';
const NO_TASK = 'No task found.';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Statements the server has sent to PostgreSQL (its metric; a scrape's own included). */
async function queries(t: TestServer): Promise<number> {
  const metrics = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
  const value = /^scanqueue_database_queries_total (\d+)$/m.exec(metrics)?.[1];
  if (value === undefined) throw new Error('no scanqueue_database_queries_total');
  return Number(value);
}

function poll(
  t: TestServer,
  agentKey: string,
  scanners = 'zap',
  apiKey = t.adminKey,
): Promise<RestResult<AgentTask>> {
  return t.postForm<AgentTask>(`${TASKS}/requestTask`, apiKey, {
    scanners,
    agentConfig: 'os.name=Linux',
    scanAgentSecureKey: agentKey,
  });
}

/** The task a poll got; undefined for "No task found." (200, as ThreadFix answers it). */
function taskOf(res: RestResult<AgentTask>): number | undefined {
  if (res.status === 200 && res.body.message === NO_TASK) return undefined;
  if (res.status !== 200 || !res.body.object?.taskId)
    throw new Error(`requestTask: ${res.status} ${res.body.message}`);
  return res.body.object.taskId;
}

/**
 * Polls until `settled` says the answer is the awaited one, or `ms` have passed; the last answer.
 * Until another instance's NOTIFY reaches this one (a few ms), a poll may still hear the old state.
 */
async function pollWithin(
  ms: number,
  next: () => Promise<RestResult<AgentTask>>,
  settled: (res: RestResult<AgentTask>) => boolean,
): Promise<RestResult<AgentTask>> {
  const start = Date.now();
  for (;;) {
    const res = await next();
    if (settled(res) || Date.now() - start >= ms) return res;
  }
}

/** The task claimed within `ms` (undefined: none). */
async function claimWithin(
  t: TestServer,
  agentKey: string,
  scanners: string,
  ms: number,
  apiKey = t.adminKey,
): Promise<number | undefined> {
  const claimed = (res: RestResult<AgentTask>) => taskOf(res) !== undefined;
  return taskOf(await pollWithin(ms, () => poll(t, agentKey, scanners, apiKey), claimed));
}

const queuedCount = async (t: TestServer) =>
  (
    await t.query<{ n: number }>(`SELECT count(*)::int AS n FROM scan_queue_tasks WHERE status = 1`)
  )[0].n;

describe('cheap empty polls', () => {
  let a: TestServer;
  let b: TestServer;
  let app: number;

  beforeAll(async () => {
    // A cache window longer than the tests' bursts of polls (the default is 2 s); no scheduler, whose
    // looks for due schedules would count among the statements.
    [a, b] = await TestServer.startCluster(2, {
      API_KEY_CACHE_SECONDS: '30',
      SCHEDULER_INTERVAL_SECONDS: '0',
    });
    app = await givenApplication(a);
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  /** Claims whatever is queued, so that each test starts from empty queues. */
  afterEach(async () => {
    await a.query(`UPDATE scan_queue_tasks SET status = 6 WHERE status = 1`);
    await a.query(`UPDATE scanner_queues SET paused_at = NULL`);
  });

  it('after one empty claim, 300 polls send PostgreSQL no statement; a task queued meanwhile is claimed', async () => {
    const agent = await givenAgentKey(a);
    expect(taskOf(await poll(a, agent, 'zap,burp'))).toBeUndefined();
    // What a scrape costs by itself (its queue gauges), to take it out of the count.
    const q0 = await queries(a);
    const q1 = await queries(a);
    const scrape = q1 - q0;
    const answers: (number | undefined)[] = [];
    for (let i = 0; i < 300; i++) answers.push(taskOf(await poll(a, agent, 'zap,burp')));
    const q2 = await queries(a);
    expect(new Set(answers)).toEqual(new Set([undefined]));
    console.log(`300 empty polls: ${q2 - q1 - scrape} statements (a scrape: ${scrape})`);
    expect(q2 - q1 - scrape).toBe(0);
    // The agent's heartbeat was written by the claim and is not due again: still recorded.
    const [seen] = await a.query<{ last_scanners: string[] }>(
      'SELECT last_scanners FROM scan_agents WHERE id = $1',
      [await agentIdOf(a, agent)],
    );
    expect(seen.last_scanners).toEqual(['zap', 'burp']);
    // A poll for a scanner not known empty still claims.
    expect(taskOf(await poll(a, agent, 'zap,burp,appscan'))).toBeUndefined();
    expect((await queries(a)) - q2 - scrape).toBeGreaterThan(0);

    // Queued on the other instance: claimed by the first poll after its NOTIFY reaches a.
    const queued = await queueScan(b, app, 'burp');
    expect(await claimWithin(a, agent, 'zap,burp', 500)).toBe(queued.id);
  });

  it('a task queued on the other instance is claimed by the next poll after the NOTIFY, 30 times over', async () => {
    const agent = await givenAgentKey(a);
    const latencies: number[] = [];
    for (let i = 0; i < 30; i++) {
      expect(taskOf(await poll(a, agent))).toBeUndefined(); // known empty from here on
      expect(taskOf(await poll(a, agent))).toBeUndefined();
      // Queued through the other instance, or straight into the database.
      const id =
        i % 2
          ? (await queueScan(b, app, 'zap')).id
          : (
              await b.query<{ id: number }>(
                `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds)
                 VALUES ($1, 'OWASP Zed Attack Proxy', 1, 600) RETURNING id`,
                [app],
              )
            )[0].id;
      // Until the NOTIFY reaches instance a (a few ms), a poll may still hear "No task found.";
      // the first poll after it claims the task (a stale mark would hide it for 5 s).
      const committed = Date.now();
      const claimed = await claimWithin(a, agent, 'zap', 5000);
      latencies.push(Date.now() - committed);
      expect([i, claimed]).toEqual([i, id]);
    }
    latencies.sort((x, y) => x - y);
    console.log(`claimed after the commit: median ${latencies[15]} ms, max ${latencies[29]} ms`);
    expect(latencies[29]).toBeLessThan(500);
  });

  it('concurrent pollers on both instances while tasks are queued in a loop: each claimed once, promptly', async () => {
    const servers = [a, b];
    const agents = await Promise.all(
      Array.from({ length: 8 }, (_, i) => givenAgentKey(servers[i % 2])),
    );
    const claims: { id: number; at: number }[] = [];
    const queuedAt = new Map<number, number>();
    let stopped = false;
    const pollers = agents.map(async (agent, i) => {
      const t = servers[i % 2];
      while (!stopped) {
        const id = taskOf(await poll(t, agent));
        if (id !== undefined) claims.push({ id, at: Date.now() });
        await sleep(10);
      }
    });
    await sleep(300); // every poller has found nothing: the queues are known empty
    for (let i = 0; i < 60; i++) {
      const via = servers[i % 2];
      const { id } = await queueScan(via, app, 'zap');
      queuedAt.set(id, Date.now());
      await sleep(i % 3 === 0 ? 0 : 40);
    }
    const deadline = Date.now() + 20_000;
    while (claims.length < 60 && Date.now() < deadline) await sleep(50);
    stopped = true;
    await Promise.all(pollers);
    expect(claims.length).toBe(60);
    expect(new Set(claims.map((claim) => claim.id))).toEqual(new Set(queuedAt.keys()));
    expect(await queuedCount(a)).toBe(0);
    // A stale "nothing queued" would hold a task back for POLL_EMPTY_CACHE_MS (5 s).
    const waits = claims.map((claim) => claim.at - (queuedAt.get(claim.id) as number));
    console.log(`pickup after queueScan returned: max ${Math.max(...waits)} ms`);
    expect(Math.max(...waits)).toBeLessThan(2000);
  });

  it('an unknown, a revoked, or a foreign agent key is refused 403 as before, cached or not', async () => {
    const unknown = await poll(a, 'not-an-agent-key');
    expect([unknown.status, unknown.body.message]).toEqual([403, BAD_AGENT_KEY]);

    // Known empty, and the agent known here: another API key presenting it is still refused.
    const owner = await givenKey(a, ['CAN_RUN_SCAN_AGENT']);
    const other = await givenKey(a, ['CAN_RUN_SCAN_AGENT']);
    const agent = await agentKeyOf(a, owner.key);
    expect(taskOf(await poll(a, agent, 'zap', owner.key))).toBeUndefined();
    expect(taskOf(await poll(a, agent, 'zap', owner.key))).toBeUndefined();
    const before = await queries(a);
    const foreign = await poll(a, agent, 'zap', other.key);
    expect([foreign.status, foreign.body.message]).toEqual([403, BAD_AGENT_KEY]);
    const foreignCold = await poll(b, agent, 'zap', other.key); // b never saw this agent
    expect([foreignCold.status, foreignCold.body.message]).toEqual([403, BAD_AGENT_KEY]);
    expect(taskOf(await poll(a, agent, 'zap', owner.key))).toBeUndefined();
    expect(await queries(a)).toBeGreaterThan(before); // (the scrapes at least)

    // Revoked on this instance: refused at once, though its queues are known empty.
    const id = await agentIdOf(a, agent);
    expect((await a.postForm(`${R}/scan-agents/${id}/revoke`, a.adminKey)).status).toBe(200);
    const revoked = await poll(a, agent, 'zap', owner.key);
    expect([revoked.status, revoked.body.message]).toEqual([403, BAD_AGENT_KEY]);

    // Its API key revoked on this instance: its agents are refused at once (401 for the key itself).
    const issuer = await givenKey(a, ['CAN_RUN_SCAN_AGENT']);
    const orphan = await agentKeyOf(a, issuer.key);
    expect(taskOf(await poll(a, orphan, 'zap', issuer.key))).toBeUndefined();
    expect(taskOf(await poll(a, orphan, 'zap', issuer.key))).toBeUndefined();
    expect((await a.postForm(`${R}/api-keys/${issuer.id}/revoke`, a.adminKey)).status).toBe(200);
    expect((await poll(a, orphan, 'zap', issuer.key)).status).toBe(401);
    expect((await poll(a, orphan, 'zap', a.adminKey)).status).toBe(403);
  });

  it('an agent revoked on the other instance, or in SQL, is refused here at once (its NOTIFY), though cached', async () => {
    // Until refused, every answer is "No task found." (taskOf throws on any other).
    const refusedWithin = async (agent: string, ms: number) => {
      const refused = (res: RestResult<AgentTask>) => res.status === 403 || !!taskOf(res);
      const res = await pollWithin(ms, () => poll(a, agent), refused);
      return res.status === 403 ? res.body.message : `still ${res.status} after ${ms} ms`;
    };
    for (const revoke of ['admin route on b', 'SQL'] as const) {
      const agent = await givenAgentKey(a);
      expect(taskOf(await poll(a, agent))).toBeUndefined();
      // Cached and known empty: this poll sends PostgreSQL nothing (the first test proves that).
      expect(taskOf(await poll(a, agent))).toBeUndefined();
      const id = await agentIdOf(a, agent);
      if (revoke === 'SQL')
        await b.query('UPDATE scan_agents SET revoked_at = now() WHERE id = $1', [id]);
      else expect((await b.postForm(`${R}/scan-agents/${id}/revoke`, b.adminKey)).status).toBe(200);
      // Far inside API_KEY_CACHE_SECONDS (30 here) and AGENT_KEY_CACHE_SECONDS (600).
      expect([revoke, await refusedWithin(agent, 2000)]).toEqual([revoke, BAD_AGENT_KEY]);
    }
  });

  it('a paused agent gets nothing and marks nothing empty; a resume on the other instance works at once', async () => {
    const paused = await givenAgentKey(a);
    const running = await givenAgentKey(a);
    expect(taskOf(await poll(a, paused))).toBeUndefined();
    const id = await agentIdOf(a, paused);
    expect((await a.postForm(`${R}/scan-agents/${id}/pause`, a.adminKey)).status).toBe(200);
    const first = await queueScan(b, app, 'zap');
    expect(taskOf(await poll(a, paused))).toBeUndefined();
    // Its empty answer proved no queue empty: the running agent's very next poll claims.
    expect(taskOf(await poll(a, running))).toBe(first.id);

    const second = await queueScan(a, app, 'zap');
    expect(taskOf(await poll(a, paused))).toBeUndefined();
    expect((await b.postForm(`${R}/scan-agents/${id}/resume`, b.adminKey)).status).toBe(200);
    // Claimed once the resume's NOTIFY reaches instance a.
    expect(await claimWithin(a, paused, 'zap', 2000)).toBe(second.id);
  });

  it('a paused scanner queue: "No task found.", and its resume on the other instance clears the mark', async () => {
    const agent = await givenAgentKey(a);
    expect((await a.postForm(`${R}/scanner-queues/zap/pause`, a.adminKey)).status).toBe(200);
    const task = await queueScan(b, app, 'zap');
    // Claims that find nothing (the queue is paused) mark zap empty here.
    expect(taskOf(await poll(a, agent))).toBeUndefined();
    expect(taskOf(await poll(a, agent))).toBeUndefined();
    expect((await b.postForm(`${R}/scanner-queues/zap/resume`, b.adminKey)).status).toBe(200);
    // Claimed once the resume's NOTIFY reaches instance a.
    expect(await claimWithin(a, agent, 'zap', 2000)).toBe(task.id);
  });

  it("a key limited to teams proves only its own teams' queues empty", async () => {
    const team = await givenTeam(a);
    const scoped = await givenKey(a, ['CAN_RUN_SCAN_AGENT'], { teamIds: [team] });
    const scopedAgent = await agentKeyOf(a, scoped.key);
    const admin = await givenAgentKey(a);
    const elsewhere = await queueScan(a, app, 'zap'); // the default team's
    expect(taskOf(await poll(a, scopedAgent, 'zap', scoped.key))).toBeUndefined();
    expect(taskOf(await poll(a, scopedAgent, 'zap', scoped.key))).toBeUndefined();
    expect(taskOf(await poll(a, admin))).toBe(elsewhere.id);
    // And a task of its team reaches it at once.
    const own = await queueScan(b, await givenAppInTeam(a, team), 'zap');
    expect(await claimWithin(a, scopedAgent, 'zap', 2000, scoped.key)).toBe(own.id);
  });
});

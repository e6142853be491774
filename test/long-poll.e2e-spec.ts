/**
 * Long-poll requestTask (issue 15 items 2–3) through the real server and PostgreSQL: an agent
 * asking for a wait gets a task queued during it at once, a client asking none is answered at
 * once as in ThreadFix; every answer paces the agent (X-Scanqueue-Poll-Interval); a bad wait is a
 * 400; graceful shutdown answers the waiters.
 */
import { agentIdOf, R } from './access-fixtures';
import { givenAgentKey, givenApplication, queueScan, TASKS } from './support/agent-flow';
import { apiKeyHeader, Envelope, TestServer } from './support/test-server';

const ZAP = 'OWASP Zed Attack Proxy';

interface PollResult {
  status: number;
  body: Envelope<{ taskId: number } | null>;
  pollInterval: string | null;
  ms: number;
}

/** requestTask with the answer's pacing header and how long it took. */
async function poll(
  t: TestServer,
  agentKey: string,
  fields: Record<string, string | number> = {},
  headers: Record<string, string> = {},
): Promise<PollResult> {
  const started = Date.now();
  const response = await fetch(`${t.baseUrl}${TASKS}/requestTask`, {
    method: 'POST',
    headers: { ...apiKeyHeader(t.adminKey), ...headers },
    body: new URLSearchParams({
      scanners: ZAP,
      scanAgentSecureKey: agentKey,
      ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])),
    }),
  });
  const body = (await response.json()) as PollResult['body'];
  return {
    status: response.status,
    body,
    pollInterval: response.headers.get('x-scanqueue-poll-interval'),
    ms: Date.now() - started,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('long-poll requestTask', () => {
  let t: TestServer;
  let app: number;

  beforeAll(async () => {
    t = await TestServer.start({ POLL_INTERVAL_SECONDS: '7', POLL_WAIT_MAX_SECONDS: '20' });
    app = await givenApplication(t);
  });
  afterAll(() => t.stop());

  it('wakes a waiting agent with a task queued during its wait; a no-wait client is answered at once', async () => {
    const waiter = await givenAgentKey(t);
    const other = await givenAgentKey(t);
    const waiting = poll(t, waiter, { waitSeconds: 15 });
    await sleep(500);
    const noWait = await poll(t, other);
    expect(noWait.body.message).toBe('No task found.');
    expect(noWait.pollInterval).toBe('7');
    expect(noWait.ms).toBeLessThan(3000);
    const queuedAt = Date.now();
    const task = await queueScan(t, app, 'zap');
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.success).toBe(true);
    expect(answer.body.object?.taskId).toBe(task.id);
    expect(answer.pollInterval).toBe('0');
    expect(Date.now() - queuedAt).toBeLessThan(1000);
  });

  it('takes the wait from the X-Scanqueue-Wait header too, and answers "No task found." at its end, to poll again at once', async () => {
    const agent = await givenAgentKey(t);
    const answer = await poll(t, agent, {}, { 'X-Scanqueue-Wait': '1' });
    expect(answer.body).toMatchObject({ message: 'No task found.', success: false });
    // The wait itself spaced the polls (POLL_INTERVAL_SECONDS is 7 here).
    expect(answer.pollInterval).toBe('0');
    expect(answer.ms).toBeGreaterThanOrEqual(900);
  });

  it.each([
    [{ waitSeconds: -1 }, {}],
    [{ waitSeconds: 'soon' }, {}],
    [{ waitSeconds: 1.5 }, {}],
    [{ waitSeconds: 100000 }, {}],
    [{}, { 'X-Scanqueue-Wait': 'soon' }],
    [{}, { 'X-Scanqueue-Wait': '-3' }],
  ])('refuses a bad wait %j %j with a 400 envelope', async (fields, headers) => {
    const agent = await givenAgentKey(t);
    const answer = await poll(t, agent, fields as Record<string, string>, headers);
    expect(answer.status).toBe(400);
    expect(answer.body.success).toBe(false);
    expect(answer.body.responseCode).toBe(-1);
  });

  it('cuts a long wait to POLL_WAIT_MAX_SECONDS and still claims a task queued at once', async () => {
    const agent = await givenAgentKey(t);
    const task = await queueScan(t, app, 'zap');
    const answer = await poll(t, agent, { waitSeconds: 3000 });
    expect(answer.body.object?.taskId).toBe(task.id);
  });

  it('stops waiting when the agent goes away', async () => {
    const agent = await givenAgentKey(t);
    const gone = new AbortController();
    const waiting = fetch(`${t.baseUrl}${TASKS}/requestTask`, {
      method: 'POST',
      headers: apiKeyHeader(t.adminKey),
      body: new URLSearchParams({ scanners: ZAP, scanAgentSecureKey: agent, waitSeconds: '15' }),
      signal: gone.signal,
    }).catch(() => 'aborted');
    await sleep(300);
    gone.abort();
    expect(await waiting).toBe('aborted');
    await sleep(200);
    const metrics = await (await fetch(`${t.baseUrl}/threadfix/metrics`)).text();
    expect(metrics).toMatch(/scanqueue_poll_waits_total\{outcome="aborted"\} [1-9]/);
    // The task queued now goes to the next poll, not to the departed one.
    const task = await queueScan(t, app, 'zap');
    expect((await poll(t, agent)).body.object?.taskId).toBe(task.id);
  });
});

describe('graceful shutdown with waiting agents', () => {
  it('answers every waiter "No task found." promptly on SIGTERM', async () => {
    const t = await TestServer.start({ POLL_WAIT_MAX_SECONDS: '60' });
    try {
      const agents = await Promise.all([1, 2, 3].map(() => givenAgentKey(t)));
      const waits = agents.map((agent) => poll(t, agent, { waitSeconds: 60 }));
      await sleep(500);
      const signalled = Date.now();
      const exited = t.kill('SIGTERM');
      const answers = await Promise.all(waits);
      for (const answer of answers) expect(answer.body.message).toBe('No task found.');
      expect(Date.now() - signalled).toBeLessThan(5000);
      await exited;
    } finally {
      await t.stop();
    }
  });
});

describe('long polls and fleet pauses', () => {
  let t: TestServer;
  let app: number;

  beforeAll(async () => {
    t = await TestServer.start();
    app = await givenApplication(t);
  });
  afterAll(() => t.stop());

  const fleet = (path: string) => t.postForm(`${R}/${path}`, t.adminKey);

  it('answers a paused agent "No task found." even when it waits, and its resume wakes it', async () => {
    const agent = await givenAgentKey(t);
    const id = await agentIdOf(t, agent);
    expect((await fleet(`scan-agents/${id}/pause`)).status).toBe(200);
    const task = await queueScan(t, app, 'zap');
    const paused = await poll(t, agent, { waitSeconds: 1 });
    expect(paused.body.message).toBe('No task found.');
    expect(paused.ms).toBeGreaterThanOrEqual(900);
    const waiting = poll(t, agent, { waitSeconds: 15 });
    await sleep(300);
    const resumedAt = Date.now();
    expect((await fleet(`scan-agents/${id}/resume`)).status).toBe(200);
    expect((await waiting).body.object?.taskId).toBe(task.id);
    expect(Date.now() - resumedAt).toBeLessThan(1000);
  });

  it("wakes a waiter when its scanner's queue is resumed", async () => {
    const agent = await givenAgentKey(t);
    expect((await fleet(`scanner-queues/zap/pause`)).status).toBe(200);
    const task = await queueScan(t, app, 'zap');
    const waiting = poll(t, agent, { waitSeconds: 15 });
    await sleep(500);
    const resumedAt = Date.now();
    expect((await fleet(`scanner-queues/zap/resume`)).status).toBe(200);
    expect((await waiting).body.object?.taskId).toBe(task.id);
    expect(Date.now() - resumedAt).toBeLessThan(1000);
  });
});

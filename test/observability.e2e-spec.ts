/**
 * Observability through the real server: the Prometheus text at /threadfix/metrics follows an
 * agent flow (queue depth per scanner, live tasks, claims, uploads, the reaper, HTTP routes), the
 * JSON log lines of a request share the id echoed in x-request-id, and readiness reports a scan
 * storage that cannot take a file while liveness stays up.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import {
  AgentTask,
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  givenClaimedTask,
  keysOf,
  queueScan,
  requestTask,
  TASKS,
  taskStatus,
} from './support/agent-flow';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  // debug: the lines the tests below look for ("request received", the claim and upload lines).
  t = await TestServer.start({ LOG_LEVEL: 'debug', REAPER_INTERVAL_SECONDS: '1' });
});
afterAll(() => t.stop());

const METRICS = '/threadfix/metrics';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`Not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[name] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(t.baseUrl + METRICS);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

/** The value of the one sample with this name and (at least) these labels; undefined if none. */
function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length}`);
  return found[0]?.value;
}

const ZAP_REPORT = fixture('zap/5_zap_sample_one.xml');

/** Parsed log lines (the server prints one JSON object per line). */
function logLines(): Record<string, unknown>[] {
  return t.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The lines of one request, once its "request completed" line has been written. */
async function linesOfRequest(reqId: string): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = logLines().filter((line) => line.reqId === reqId);
    if (lines.some((line) => line.msg === 'request completed') || Date.now() > deadline)
      return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('metrics', () => {
  let applicationId: number;
  let agentKey: string;
  const claimed: AgentTask[] = [];
  let cancelledId: number;

  it('queue depth and oldest age per scanner after queueing tasks of two scanners; live tasks by status', async () => {
    applicationId = await givenApplication(t);
    for (let i = 0; i < 3; i++) await queueScan(t, applicationId, 'zap');
    const burp = [];
    for (let i = 0; i < 2; i++) burp.push(await queueScan(t, applicationId, 'burp'));
    cancelledId = burp[1].id;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const samples = await scrape();
    expect(valueOf(samples, 'scanqueue_queue_depth', { scanner: 'zap' })).toBe(3);
    expect(valueOf(samples, 'scanqueue_queue_depth', { scanner: 'burp' })).toBe(2);
    expect(valueOf(samples, 'scanqueue_queue_depth', { scanner: 'acunetix' })).toBe(0);
    expect(
      valueOf(samples, 'scanqueue_queue_oldest_age_seconds', { scanner: 'zap' }),
    ).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'scanqueue_queue_oldest_age_seconds', { scanner: 'zap' })).toBeLessThan(
      60,
    );
    expect(valueOf(samples, 'scanqueue_queue_oldest_age_seconds', { scanner: 'acunetix' })).toBe(0);
    expect(valueOf(samples, 'scanqueue_tasks', { status: 'QUEUED' })).toBe(5);
    expect(valueOf(samples, 'scanqueue_tasks', { status: 'ASSIGNED' })).toBe(0);
    expect(valueOf(samples, 'scanqueue_database_up')).toBe(1);
  });

  it('claims move tasks from QUEUED to ASSIGNED and are timed by outcome', async () => {
    const before = await scrape();
    agentKey = await givenAgentKey(t);
    for (let i = 0; i < 2; i++) {
      const res = await requestTask(t, agentKey, 'zap');
      expect(res.status).toBe(200);
      claimed.push(res.body.object);
    }
    expect((await requestTask(t, agentKey, 'webinspect')).body.message).toBe('No task found.');
    expect((await requestTask(t, 'not-an-agent-key', 'zap')).status).toBe(403);

    const after = await scrape();
    const count = (samples: Sample[], outcome: string) =>
      valueOf(samples, 'scanqueue_claim_duration_seconds_count', { outcome }) ?? NaN;
    expect(count(after, 'claimed') - count(before, 'claimed')).toBe(2);
    expect(count(after, 'empty') - count(before, 'empty')).toBe(1);
    expect(count(after, 'refused') - count(before, 'refused')).toBe(1);
    expect(
      valueOf(after, 'scanqueue_claim_duration_seconds_sum', { outcome: 'claimed' }),
    ).toBeGreaterThan(0);
    expect(valueOf(after, 'scanqueue_queue_depth', { scanner: 'zap' })).toBe(1);
    expect(valueOf(after, 'scanqueue_tasks', { status: 'QUEUED' })).toBe(3);
    expect(valueOf(after, 'scanqueue_tasks', { status: 'ASSIGNED' })).toBe(2);
  });

  it('completeTask counts the stored bytes and its duration; fail and cancel count as finished', async () => {
    const [first, second] = claimed;
    const keys = (task: AgentTask) => ({
      applicationId,
      taskId: task.taskId,
      agentKey,
      secureTaskKey: task.secureTaskKey,
    });
    const done = await completeTask(t, keys(first), { name: 'zap.xml', content: ZAP_REPORT });
    expect(done.status).toBe(200);
    const failed = await t.postForm(`${TASKS}/failTask`, t.adminKey, {
      ...keysOf(keys(second)),
      message: 'ZAP crashed',
    });
    expect(failed.status).toBe(200);
    const cancelled = await t.postForm(`/threadfix/rest/tasks/${cancelledId}/cancel`, t.adminKey);
    expect(cancelled.status).toBe(200);

    const samples = await scrape();
    expect(valueOf(samples, 'scanqueue_upload_bytes_total')).toBe(ZAP_REPORT.length);
    expect(valueOf(samples, 'scanqueue_upload_duration_seconds_count')).toBe(1);
    expect(valueOf(samples, 'scanqueue_upload_duration_seconds_sum')).toBeGreaterThan(0);
    for (const [status, count] of [
      ['COMPLETE_SUCCESSFUL', 1],
      ['COMPLETE_FAILED', 1],
      ['COMPLETE_DELETED', 1],
      ['COMPLETE_TIMEDOUT', 0],
    ] as const)
      expect({
        status,
        count: valueOf(samples, 'scanqueue_tasks_finished_total', { status }),
      }).toEqual({
        status,
        count,
      });
    expect(valueOf(samples, 'scanqueue_tasks', { status: 'ASSIGNED' })).toBe(0);
    expect(valueOf(samples, 'scanqueue_tasks', { status: 'QUEUED' })).toBe(2);
    expect(valueOf(samples, 'scanqueue_queue_depth', { scanner: 'burp' })).toBe(1);
  });

  it('the reaper counts the tasks it times out', async () => {
    const before = await scrape();
    expect(valueOf(before, 'scanqueue_reaper_timed_out_tasks_total')).toBe(0);
    const task = await givenClaimedTask(t, 'acunetix', { timeoutSeconds: 1 });
    const deadline = Date.now() + 15_000;
    while ((await taskStatus(t, task.taskId)) !== 5 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await taskStatus(t, task.taskId)).toBe(5);
    const after = await scrape();
    expect(valueOf(after, 'scanqueue_reaper_timed_out_tasks_total')).toBe(1);
    expect(valueOf(after, 'scanqueue_tasks_finished_total', { status: 'COMPLETE_TIMEDOUT' })).toBe(
      1,
    );
    expect(valueOf(after, 'scanqueue_reaper_failures_total')).toBe(0);
  });

  it('the HTTP histogram is labelled by route pattern, never by raw URL', async () => {
    const task = claimed[0].taskId;
    expect((await t.get(`/threadfix/rest/tasks/${task}`, t.adminKey)).status).toBe(200);
    expect((await t.get(`/threadfix/rest/v2.8/tasks/${task}`, t.adminKey)).status).toBe(200);
    expect((await t.get(`/threadfix/rest/no-such-route/${task}`, t.adminKey)).status).toBe(404);
    const samples = await scrape();
    const count = (labels: Record<string, string>) =>
      valueOf(samples, 'scanqueue_http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/rest/tasks/:id', status_code: '200' })).toBe(2);
    expect(count({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(
      count({ method: 'POST', route: '/rest/tasks/requestTask', status_code: '403' }),
    ).toBeGreaterThanOrEqual(1);
    const routes = new Set(
      samples
        .filter((s) => s.name === 'scanqueue_http_request_duration_seconds_count')
        .map((s) => s.labels.route),
    );
    expect([...routes].filter((route) => route.includes(String(task)))).toEqual([]);
    expect([...routes].filter((route) => route !== 'unmatched' && !route.startsWith('/'))).toEqual(
      [],
    );
  });

  it('is Prometheus text without an API key, with the default Node process metrics', async () => {
    const res = await fetch(t.baseUrl + METRICS);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE scanqueue_claim_duration_seconds histogram');
    const samples = parseMetrics(text);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // Counted off the event loop; the defaults that walk every handle on it are not served.
    const openFds = valueOf(samples, 'process_open_fds') as number;
    expect(openFds).toBeGreaterThan(5);
    expect(openFds).toBeLessThanOrEqual(valueOf(samples, 'process_max_fds') as number);
    expect(samples.filter((s) => /^nodejs_active_(handles|resources)/.test(s.name))).toEqual([]);
  });
});

describe('logs', () => {
  it('every line the server printed is a JSON object with level, time and message', () => {
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({
          level: expect.stringMatching(/^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)$/),
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          msg: expect.any(String),
        }),
      );
    }
  });

  it("a request's lines share one id, the caller's x-request-id, echoed in the response", async () => {
    const agentKey = await givenAgentKey(t);
    const task = await givenClaimedTask(t, 'zap');
    const reqId = `obs-claim-${Date.now()}`;
    await queueScan(t, task.applicationId, 'zap');
    // urlencoded, arriving in two pieces: the guards and the handler run from the request stream's
    // 'end' event, after the body is parsed; the handler's Nest log line must still carry the id.
    const body = new URLSearchParams({
      scanners: 'zap',
      scanAgentSecureKey: agentKey,
      agentConfig: 'x'.repeat(64 * 1024),
    }).toString();
    const res = await new Promise<{ status?: number; reqId: unknown }>((resolve, reject) => {
      const req = httpRequest(`${t.baseUrl}${TASKS}/requestTask`, {
        method: 'POST',
        headers: {
          authorization: `APIKEY ${t.adminKey}`,
          'x-request-id': reqId,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(body.length),
        },
      });
      req.on('error', reject);
      req.on('response', (response) => {
        response.resume();
        resolve({ status: response.statusCode, reqId: response.headers['x-request-id'] });
      });
      req.write(body.slice(0, 1000));
      setTimeout(() => req.end(body.slice(1000)), 300);
    });
    expect(res).toEqual({ status: 200, reqId });
    const lines = await linesOfRequest(reqId);
    expect(lines.map((line) => line.msg)).toEqual([
      'request received',
      expect.stringMatching(/^Claim: claimed in [\d.]+ ms$/),
      'request completed',
    ]);
    expect(lines[1].context).toBe('MetricsService');
    expect(lines[2]).toMatchObject({
      req: { method: 'POST', url: `${TASKS}/requestTask`, route: '/rest/tasks/requestTask' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });

    // multipart: the handler reads the file from the request stream, still in the request's context.
    const uploadId = `obs-upload-${Date.now()}`;
    const form = new FormData();
    for (const [name, value] of Object.entries(keysOf(task))) form.append(name, String(value));
    form.append('file', new Blob([ZAP_REPORT], { type: 'application/xml' }), 'zap.xml');
    const upload = await fetch(`${t.baseUrl}${TASKS}/completeTask`, {
      method: 'POST',
      headers: { authorization: `APIKEY ${t.adminKey}`, 'x-request-id': uploadId },
      body: form,
    });
    expect(upload.status).toBe(200);
    expect(upload.headers.get('x-request-id')).toBe(uploadId);
    const uploadLines = (await linesOfRequest(uploadId)).map((line) => line.msg);
    expect(uploadLines[0]).toBe('request received');
    expect(uploadLines).toContainEqual(
      expect.stringMatching(new RegExp(`^Upload: ${ZAP_REPORT.length} bytes stored in [\\d.]+ s$`)),
    );
    expect(uploadLines.at(-1)).toBe('request completed');
  });

  it('without a usable x-request-id the server makes one (a UUID) and returns it, also on a refusal', async () => {
    for (const incoming of [undefined, 'has spaces and "quotes"', 'x'.repeat(129)]) {
      const res = await fetch(`${t.baseUrl}/threadfix/rest/applications`, {
        headers: incoming === undefined ? {} : { 'x-request-id': incoming },
      });
      expect(res.status).toBe(401);
      const reqId = res.headers.get('x-request-id') ?? '';
      expect(reqId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const lines = await linesOfRequest(reqId);
      expect(lines.map((line) => line.msg)).toEqual(['request received', 'request completed']);
    }
  });

  it('URLs are logged with key parameters redacted', async () => {
    const secret = 'Obs3rvab1lityS3cretValue_xxxxxxxxxxxxxxxxxx';
    const reqId = `obs-redact-${Date.now()}`;
    await fetch(
      `${t.baseUrl}${TASKS}/scanners?apiKey=${secret}&secureTaskKey=${secret}&scanAgentSecureKey=${secret}&page=2`,
      { headers: { 'x-request-id': reqId, authorization: `APIKEY ${secret}` } },
    );
    const lines = await linesOfRequest(reqId);
    expect(lines).toHaveLength(2);
    expect((lines[1].req as { url: string }).url).toBe(
      `${TASKS}/scanners?apiKey=[REDACTED]&secureTaskKey=[REDACTED]&scanAgentSecureKey=[REDACTED]&page=2`,
    );
    expect(t.output).not.toContain(secret);
  });
});

describe('health', () => {
  it('liveness and readiness answer 200 when the database and storage work', async () => {
    const live = await fetch(`${t.baseUrl}/threadfix/health/live`);
    expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${t.baseUrl}/threadfix/health/ready`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ok', database: 'up', storage: 'up' },
    ]);
  });

  it('readiness is 503 naming storage when the storage folder cannot take a file; liveness stays 200', async () => {
    const storageDir = path.join(t.dataDir, 'scans');
    // A file where the folder was: refused to root too (chmod would not be).
    await rm(storageDir, { recursive: true, force: true });
    await writeFile(storageDir, 'not a folder');
    // A check's result serves the probes of the next second (health.service.ts): let it expire.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    try {
      const reqId = `obs-ready-${Date.now()}`;
      const ready = await fetch(`${t.baseUrl}/threadfix/health/ready`, {
        headers: { 'x-request-id': reqId },
      });
      expect([ready.status, await ready.json()]).toEqual([
        503,
        { status: 'degraded', database: 'up', storage: 'down' },
      ]);
      // The reason is logged (by Nest's Logger, inside the request: with its id), not answered.
      const warning = (await linesOfRequest(reqId)).find((line) => line.level === 'WARN');
      expect(warning).toMatchObject({
        context: 'HealthService',
        msg: expect.stringMatching(/^Readiness: storage is down: Error: ENOTDIR/),
      });
      const live = await fetch(`${t.baseUrl}/threadfix/health/live`);
      expect(live.status).toBe(200);
      // The health route the tests and older deployments poll keeps its meaning: the database.
      const health = await fetch(`${t.baseUrl}/threadfix/health`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok', database: 'up' }]);
    } finally {
      await rm(storageDir, { force: true });
      await mkdir(storageDir);
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await fetch(`${t.baseUrl}/threadfix/health/ready`);
    expect(again.status).toBe(200);
  });

  it('the storage probe leaves no file behind', async () => {
    for (let i = 0; i < 3; i++)
      expect((await fetch(`${t.baseUrl}/threadfix/health/ready`)).status).toBe(200);
    const incoming = await readdir(path.join(t.dataDir, 'scans', '.incoming')).catch(() => []);
    expect(incoming).toEqual([]);
  });
});

describe('METRICS_ENABLED=false', () => {
  let off: TestServer;
  beforeAll(async () => {
    off = await TestServer.start({ METRICS_ENABLED: 'false' });
  });
  afterAll(() => off.stop());

  it('serves no metrics route (the ThreadFix 404 envelope); health still answers', async () => {
    const res = await off.get(METRICS);
    expect([res.status, res.body.message]).toEqual([
      404,
      'Bad rest request due to unrecognized path.',
    ]);
    expect((await fetch(`${off.baseUrl}/threadfix/health/ready`)).status).toBe(200);
  });
});

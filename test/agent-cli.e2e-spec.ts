/**
 * scanqueue-agent end to end: the built CLI (packages/agent/dist/main.js) as a child process
 * against the real server, running test/fixtures/fake-scanner.js as its scanner command.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIXTURES, givenApplication, queueScan, TASKS } from './support/agent-flow';
import { eventually } from './support/eventually';
import { freePort, TestServer } from './support/test-server';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'packages/agent/dist/main.js');
/** The agent's own version, apart from the server's. */
const { version } = JSON.parse(
  readFileSync(path.join(ROOT, 'packages/agent/package.json'), 'utf8'),
) as { version: string };
const FAKE = path.join(ROOT, 'test/fixtures/fake-scanner.js');
const ZAP_REPORT = path.join(FIXTURES, 'zap/zap_2.16.1_with_req_resp.xml');
/** Every key scanqueue issues is 43 URL-safe characters; none may show in an agent's output. */
const KEY_SHAPED = /[A-Za-z0-9_-]{40,}/;

interface AdminTask {
  id: number;
  status: number;
  statusString: string;
  statusHistory: { message: string; actorType: string; toStatus: number | null }[];
  agentConfig: string | null;
}

let t: TestServer;
let apiKey: string;
let scratch: string;

beforeAll(async () => {
  t = await TestServer.start();
  const created = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
    name: 'agent',
    permissions: ['CAN_MANAGE_SCAN_AGENTS'],
  });
  apiKey = created.body.object.apiKey;
  scratch = await mkdtemp(path.join(tmpdir(), 'scanqueue-agent-test-'));
});
afterAll(async () => {
  await t.stop();
  await rm(scratch, { recursive: true, force: true });
});

class AgentProcess {
  output = '';
  readonly exit: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `pattern` in the agent's output (polling; the CLI logs as it goes). */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`agent output never matched ${pattern}:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exit;
  }
}

/** One request the agent sent through a RecordingProxy. */
interface ProxiedRequest {
  path: string;
  /** The X-Scanqueue-Wait the agent sent (before an oldServer proxy drops it). */
  wait?: string;
  at: number;
  /** When the server's answer began reaching the agent (headers sent on). */
  headersAt?: number;
  answeredAt?: number;
  /** When the agent hung up before the whole answer reached it. */
  abandonedAt?: number;
}

/**
 * A loopback HTTP proxy between the agent and the real server that records what the agent sends
 * and when. `oldServer`: drops X-Scanqueue-Wait on the way in and X-Scanqueue-Poll-Interval on the
 * way out, as a server from before long polls would. `holdBodyMs`: sends an answer's headers at
 * once and its body that much later (an answer caught on the wire).
 */
class RecordingProxy {
  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly requests: ProxiedRequest[],
  ) {}

  static async start(
    upstream: TestServer,
    options: { oldServer?: boolean; holdBodyMs?: number } = {},
  ): Promise<RecordingProxy> {
    const target = new URL(upstream.baseUrl);
    const requests: ProxiedRequest[] = [];
    const server = createServer((incoming, outgoing) => {
      const seen: ProxiedRequest = {
        path: incoming.url ?? '',
        wait: header(incoming.headers, 'x-scanqueue-wait'),
        at: Date.now(),
      };
      requests.push(seen);
      const headers = { ...incoming.headers };
      if (options.oldServer) delete headers['x-scanqueue-wait'];
      const forward = request(
        {
          host: target.hostname,
          port: target.port,
          path: incoming.url,
          method: incoming.method,
          headers,
        },
        (answer) => {
          const answerHeaders = { ...answer.headers };
          if (options.oldServer) delete answerHeaders['x-scanqueue-poll-interval'];
          outgoing.writeHead(answer.statusCode ?? 502, answerHeaders);
          outgoing.flushHeaders();
          seen.headersAt = Date.now();
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.once('end', () =>
            setTimeout(() => {
              outgoing.end(Buffer.concat(chunks));
              seen.answeredAt = Date.now();
            }, options.holdBodyMs ?? 0),
          );
        },
      );
      forward.once('error', () => outgoing.destroy());
      incoming.pipe(forward);
      // The agent hung up: so does the proxy, and the server sees its waiter go.
      outgoing.once('close', () => {
        if (seen.answeredAt === undefined) {
          seen.abandonedAt = Date.now();
          forward.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new RecordingProxy(server, `http://127.0.0.1:${port}`, requests);
    proxies.push(proxy);
    return proxy;
  }

  /** The requestTask calls, in the order they arrived. */
  polls(): ProxiedRequest[] {
    return this.requests.filter((seen) => seen.path.endsWith('/tasks/requestTask'));
  }

  /** Resolves once `count` requestTask calls have arrived. */
  async untilPolls(count: number, timeoutMs = 20_000): Promise<ProxiedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.polls().length < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.polls().length} of ${count} requestTask calls arrived`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.polls();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Milliseconds between consecutive arrivals. */
const gaps = (polls: ProxiedRequest[]) => polls.slice(1).map((poll, i) => poll.at - polls[i].at);

const running: AgentProcess[] = [];
const proxies: RecordingProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

let configs = 0;
async function startAgent(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  onTerminal = false,
): Promise<AgentProcess> {
  const file = path.join(scratch, `agent-${++configs}.json`);
  await writeFile(
    file,
    JSON.stringify({
      serverUrl: `${t.baseUrl}/threadfix`,
      apiKey,
      agentName: 'test-agent',
      pollIntervalMinSeconds: 0.05,
      pollIntervalMaxSeconds: 0.5,
      statusIntervalSeconds: 0.2,
      killGraceSeconds: 2,
      workDir: path.join(scratch, `work-${configs}`),
      ...config,
    }),
  );
  const { PATH, HOME, LANG } = process.env;
  // On a terminal: util-linux's script(1) gives the agent a pseudo-terminal as stdout.
  const [program, args] = onTerminal
    ? ['script', ['-qefc', `'${process.execPath}' '${CLI}' --config '${file}'`, '/dev/null']]
    : [process.execPath, [CLI, '--config', file]];
  const agent = new AgentProcess(
    spawn(program, args, {
      cwd: ROOT,
      env: { PATH, HOME, LANG, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  running.push(agent);
  return agent;
}

async function adminTask(id: number, server = t): Promise<AdminTask> {
  return (await server.get<AdminTask>(`/threadfix/rest/tasks/${id}`, server.adminKey)).body.object;
}

async function waitForStatus(id: number, status: number, timeoutMs = 20_000): Promise<AdminTask> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await adminTask(id);
    if (task.status === status) return task;
    if (Date.now() > deadline)
      throw new Error(`task ${id} stayed ${task.statusString}: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A process's resident memory in kB, from /proc (0 once it is gone). */
function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Running, not merely a zombie waiting for a reaper (PID 1 in a container may never reap it). */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitForRecord(file: string): Promise<{
  argv: string[];
  envNames: string[];
  env: Record<string, string>;
  pid: number;
  config: string | null;
}> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the fake scanner never wrote ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The scanner writes the record in one call; a read can still catch it half-written.
  for (;;) {
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The agent's log must name no key: neither the API key nor anything shaped like an agent/task key. */
function expectNoSecrets(agent: AgentProcess): void {
  expect(agent.output).not.toContain(apiKey);
  expect(agent.output).not.toMatch(KEY_SHAPED);
}

describe('scanqueue-agent', () => {
  it('claims a task, runs the scanner with the target and config, reports progress and uploads the report', async () => {
    const applicationId = await givenApplication(t, 'http://bodgeit.example/');
    const config = await t.postMultipart(
      `${TASKS}/setTaskConfig`,
      t.adminKey,
      { appId: applicationId, scannerType: 'zap' },
      { name: 'session.cfg', content: 'zap session config', type: 'application/octet-stream' },
    );
    expect(config.body.success).toBe(true);
    const queued = await queueScan(t, applicationId, 'zap');
    const record = path.join(scratch, 'record-success.json');

    const agent = await startAgent(
      {
        scanners: {
          'OWASP Zed Attack Proxy': {
            command: [process.execPath, FAKE, 'report', '{outputFile}', ZAP_REPORT, '{configFile}'],
            outputFile: 'zap-report.xml',
          },
        },
      },
      { FAKE_SCANNER_RECORD: record, FAKE_SCANNER_SLEEP_MS: '700' },
    );

    const done = await waitForStatus(queued.id, 3);
    expect(done.statusString).toBe('COMPLETE_SUCCESSFUL');
    // The claim names the agent and its own version.
    expect(done.agentConfig).toContain(
      `agent.software=scanqueue-agent\nagent.version=${version}\n`,
    );
    const agentStatuses = done.statusHistory.filter(
      (status) => status.actorType === 'agent' && status.toStatus === null,
    );
    expect(agentStatuses.map((status) => status.message)).toEqual(
      expect.arrayContaining([
        'Scan started by scanqueue-agent test-agent',
        expect.stringMatching(/^Scan running for \d+s$/),
        expect.stringMatching(/^Scan finished; uploading the result \(\d+ bytes\)$/),
      ]),
    );

    // The scanner got the task's values, and not the agent's API key.
    const seen = await waitForRecord(record);
    expect(seen.argv[1]).toMatch(/task-\d+\/zap-report\.xml$/);
    expect(seen.config).toBe('zap session config');
    expect(seen.env).toEqual({
      SCANQUEUE_TASK_ID: String(queued.id),
      SCANQUEUE_TARGET_URL: 'http://bodgeit.example/',
    });
    expect(seen.envNames.filter((name) => name.startsWith('SCANQUEUE_AGENT'))).toEqual([]);

    // The stored scan is the report, byte for byte.
    const scans = await t.get<{ taskId: number; sha256: string; sizeBytes: number }[]>(
      `/threadfix/rest/applications/${applicationId}/scans`,
      t.adminKey,
    );
    const report = await readFile(ZAP_REPORT);
    expect(scans.body.object).toEqual([
      expect.objectContaining({
        taskId: queued.id,
        sizeBytes: report.length,
        sha256: createHash('sha256').update(report).digest('hex'),
      }),
    ]);

    await agent.waitFor(new RegExp(`task ${queued.id}: completed \\(${report.length} bytes`));
    // Not a terminal here: the progress shows as log lines, no bar escape codes.
    expect(agent.output).not.toContain('\u001b[');
    // The task's folder is removed once the task is done: just after the "completed" line, which
    // the upload's end logs before the task's cleanup runs.
    await eventually(
      'the task folder removed',
      () => !existsSync(path.dirname(seen.argv[1])),
      10_000,
    );
    expect(await agent.stop()).toBe(0);
    expectNoSecrets(agent);
  });

  it('streams a large report from disk, logging its progress, without holding it in memory', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'zap');
    const agent = await startAgent({
      scanners: { zap: { command: [process.execPath, FAKE, 'big', '{outputFile}', '128'] } },
      keepWorkFiles: true,
    });
    // The baseline once the agent is up and running the scanner, before the upload starts.
    await agent.waitFor(new RegExp(`task ${queued.id}: started`));
    const baselineKb = rssKb(agent.child.pid!);
    let peakKb = baselineKb;
    const sampler = setInterval(() => {
      const kb = rssKb(agent.child.pid!);
      if (kb) peakKb = Math.max(peakKb, kb);
    }, 20);
    try {
      await waitForStatus(queued.id, 3, 60_000);
    } finally {
      clearInterval(sampler);
    }
    const progress = await agent.waitFor(
      new RegExp(`task ${queued.id}: completed \\((\\d+) bytes`),
    );
    const size = Number(progress[1]);
    expect(size).toBeGreaterThan(128 * 1048576);
    for (const quarter of [25, 50, 75])
      expect(agent.output).toContain(`task ${queued.id}: upload ${quarter}%`);
    // Buffered, the agent would grow by the whole file; streamed it grows by ~40 MB (measured with
    // 96 MB and 250 MB reports alike), whatever the size.
    expect(peakKb - baselineKb).toBeLessThan(64 * 1024);
    const report = await readFile(
      path.join(scratch, `work-${configs}`, `task-${queued.id}`, 'result.xml'),
    );
    const scans = await t.get<{ sha256: string }[]>(
      `/threadfix/rest/applications/${applicationId}/scans`,
      t.adminKey,
    );
    expect(scans.body.object[0].sha256).toBe(createHash('sha256').update(report).digest('hex'));
  }, 120_000);

  it('draws a progress bar when stdout is a terminal', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'zap');
    const agent = await startAgent(
      { scanners: { zap: { command: [process.execPath, FAKE, 'big', '{outputFile}', '8'] } } },
      {},
      true,
    );
    await waitForStatus(queued.id, 3, 60_000);
    await agent.waitFor(new RegExp(`task ${queued.id}: completed`));
    // cli-progress's bar, its cursor control, and no quarter log lines in its place.
    expect(agent.output).toMatch(
      new RegExp(`task ${queued.id} upload \\[[=-]+\\] 100% \\| \\d+/\\d+ bytes`),
    );
    expect(agent.output).toContain('\u001b[?25l');
    expect(agent.output).not.toContain('upload 50%');
  });

  it('keeps retrying with backoff while the server is unreachable', async () => {
    const agent = await startAgent({
      serverUrl: `http://127.0.0.1:${await freePort()}/threadfix`,
      scanners: { zap: { command: ['true'] } },
      pollIntervalMinSeconds: 0.02,
      pollIntervalMaxSeconds: 0.2,
    });
    await agent.waitFor(/requestScanAgentKey failed \(cannot reach the server.*backoff 4,/);
    expect(agent.child.exitCode).toBeNull();
    expect(await agent.stop()).toBe(0);
    expectNoSecrets(agent);
  });

  it('warns once at start when serverUrl is plain http:// to a host that is not loopback', async () => {
    // 0.0.0.0 reaches this machine on Linux, but it is no loopback name: the agent cannot tell.
    const agent = await startAgent({
      serverUrl: `http://0.0.0.0:${await freePort()}/threadfix`,
      scanners: { zap: { command: ['true'] } },
    });
    await agent.waitFor(/requestScanAgentKey failed .*backoff 2,/);
    expect(await agent.stop()).toBe(0);
    const warnings = agent.output.match(
      /warn +serverUrl http:\/\/0\.0\.0\.0:\d+\/threadfix is plain http:\/\//g,
    );
    expect(warnings).toHaveLength(1);
    // The agents of the other tests talk to http://127.0.0.1: no warning there.
    const local = await startAgent({ scanners: { zap: { command: ['true'] } } });
    await local.waitFor(/agent test-agent ready/);
    expect(await local.stop()).toBe(0);
    expect(local.output).not.toContain('plain http://');
  });

  it('refuses a redirect to another origin: nothing reaches it, not the key nor the form', async () => {
    // A server that answers every call with 307 to another origin (another port), and that origin.
    const reached: string[] = [];
    const elsewhere = createServer((request, response) => {
      reached.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
      response.end();
    });
    const redirector = createServer((request, response) => {
      const { port } = elsewhere.address() as AddressInfo;
      response.writeHead(307, { location: `http://127.0.0.1:${port}${request.url}` }).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirector.address() as AddressInfo;
      const agent = await startAgent({
        serverUrl: `http://127.0.0.1:${port}/threadfix`,
        scanners: { zap: { command: ['true'] } },
      });
      expect(await agent.exit).toBe(3);
      expect(agent.output).toMatch(
        /requestScanAgentKey refused by the server: HTTP 307: redirect to another origin \(http:\/\/127\.0\.0\.1:\d+\) not followed/,
      );
      expect(reached).toEqual([]);
      expectNoSecrets(agent);
    } finally {
      redirector.close();
      elsewhere.close();
    }
  });

  it('fails the task with the tail of stderr when the command exits non-zero', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'burp');
    const agent = await startAgent({
      scanners: { burp: { command: [process.execPath, FAKE, 'fail'] } },
    });

    const failed = await waitForStatus(queued.id, 6);
    const message = failed.statusHistory[failed.statusHistory.length - 1].message;
    expect(message).toContain('Scan command exited with code 3');
    expect(message).toContain('FATAL: target http://unreachable.example/ did not answer');
    // Only the tail: the chatter at the start of the 4 KB of stderr is cut off.
    expect(message).not.toContain('starting scan');
    expect(message.length).toBeLessThan(2600);
    await agent.waitFor(new RegExp(`task ${queued.id}: failed`));
    expectNoSecrets(agent);
  });

  it("fails the task with the server's reason when it refuses the report (not ZAP XML)", async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'zap');
    const agent = await startAgent({
      // The fake scanner's own source as the "report": not XML at all.
      scanners: { zap: { command: [process.execPath, FAKE, 'report', '{outputFile}', FAKE] } },
    });
    const failed = await waitForStatus(queued.id, 6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'for the following reason: Result file refused by the server: ',
    );
    await agent.waitFor(new RegExp(`task ${queued.id}: result refused: HTTP 422`));
    expect(await t.query('SELECT id FROM scans WHERE task_id = $1', [queued.id])).toEqual([]);
  });

  it('fails the task when the command exits 0 without writing the report', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'acunetix', {
      targetUrl: 'http://scan-user:hunter2-secret@app.example/',
    });
    const agent = await startAgent({
      scanners: { acunetix: { command: [process.execPath, FAKE, 'nooutput'] } },
    });
    const failed = await waitForStatus(queued.id, 6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'Scan command exited 0 but wrote no result file (result.xml)',
    );
    // The target's credentials are the scanner's business, not the log's.
    await agent.waitFor(
      new RegExp(`task ${queued.id}: claimed \\(Acunetix WVS, http://app\\.example/\\)`),
    );
    expect(agent.output).not.toContain('hunter2-secret');
  });

  it('backs off with growing, jittered waits while no task is available from a server that sends no pacing (an older one)', async () => {
    // The proxy makes scanqueue look like a server from before long polls: it drops the agent's
    // X-Scanqueue-Wait (so the answer comes at once) and the answer's X-Scanqueue-Poll-Interval.
    const old = await RecordingProxy.start(t, { oldServer: true });
    const agent = await startAgent({
      serverUrl: `${old.baseUrl}/threadfix`,
      scanners: { spider: { command: [process.execPath, FAKE, 'nooutput'] } },
      pollIntervalMinSeconds: 0.02,
      pollIntervalMaxSeconds: 0.4,
      pollWaitSeconds: 30,
    });
    const line =
      /^(\S+) info  no task; next poll in ([\d.]+)s \(backoff (\d+), ceiling ([\d.]+)s\)$/gm;
    await agent.waitFor(/backoff 8,/);
    const waits = [...agent.output.matchAll(line)].map((m) => ({
      at: Date.parse(m[1]),
      delay: Number(m[2]),
      attempt: Number(m[3]),
      ceiling: Number(m[4]),
    }));
    expect(waits.length).toBeGreaterThanOrEqual(8);
    expect(waits.map((w) => w.attempt)).toEqual(waits.map((_, i) => i + 1));
    // The ceiling doubles from 2 × min up to the max, and each wait lies between min and it.
    expect(waits.map((w) => w.ceiling).slice(0, 6)).toEqual([0.04, 0.08, 0.16, 0.32, 0.4, 0.4]);
    for (const w of waits) {
      expect(w.delay).toBeGreaterThanOrEqual(0.02);
      expect(w.delay).toBeLessThanOrEqual(w.ceiling);
    }
    // And the agent really waits that long before polling again (a lower bound only).
    for (let i = 1; i < waits.length; i++)
      expect(waits[i].at - waits[i - 1].at).toBeGreaterThanOrEqual(waits[i - 1].delay * 1000 - 5);
    // One info line for the empty queue, not one per poll; one saying why it backs off.
    expect(agent.output.match(/no task available/g)).toHaveLength(1);
    expect(agent.output.match(/sends no X-Scanqueue-Poll-Interval/g)).toHaveLength(1);
    // It asked for a wait every time; the old server answered at once all the same. Only the polls
    // the agent had logged an answer to by then: the next one may still be on its way.
    const polls = old.polls();
    expect(polls.length).toBeGreaterThanOrEqual(waits.length);
    for (const poll of polls.slice(0, waits.length)) {
      expect(poll.wait).toBe('30');
      expect(poll.answeredAt! - poll.at).toBeLessThan(2000);
    }
    expect(await agent.stop()).toBe(0);
  });

  it('on SIGTERM kills a running scan, fails its task with "agent stopped" and exits 0', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'appscan');
    const record = path.join(scratch, 'record-sigterm.json');
    const agent = await startAgent(
      { scanners: { appscan: { command: [process.execPath, FAKE, 'sleep', '120'] } } },
      { FAKE_SCANNER_RECORD: record },
    );
    const { pid } = await waitForRecord(record);
    await agent.waitFor(/Scan running|started/);
    expect(isAlive(pid)).toBe(true);
    expect((await adminTask(queued.id)).status).toBe(2);

    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
    const failed = await adminTask(queued.id);
    expect(failed.status).toBe(6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'for the following reason: agent stopped',
    );
    expectNoSecrets(agent);
  });

  it('lets an upload in progress finish on SIGTERM; a second signal aborts it and fails the task', async () => {
    const applicationId = await givenApplication(t);
    const first = await queueScan(t, applicationId, 'zap');
    const command = [process.execPath, FAKE, 'big', '{outputFile}', '64'];
    const patient = await startAgent({ scanners: { zap: { command } } });
    await patient.waitFor(new RegExp(`task ${first.id}: uploading`));
    patient.child.kill('SIGTERM');
    expect(await patient.exit).toBe(0);
    expect(patient.output).toMatch(
      new RegExp(`received SIGTERM: stopping[\\s\\S]*task ${first.id}: completed`),
    );
    expect((await adminTask(first.id)).statusString).toBe('COMPLETE_SUCCESSFUL');

    const second = await queueScan(t, applicationId, 'zap');
    const impatient = await startAgent({ scanners: { zap: { command } } });
    await impatient.waitFor(new RegExp(`task ${second.id}: uploading`));
    impatient.child.kill('SIGTERM');
    await impatient.waitFor(/received SIGTERM: stopping/);
    impatient.child.kill('SIGINT');
    expect(await impatient.exit).toBe(0);
    expect(impatient.output).toContain(`task ${second.id}: upload aborted`);
    const failed = await adminTask(second.id);
    expect(failed.statusString).toBe('COMPLETE_FAILED');
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'for the following reason: agent stopped',
    );
  }, 120_000);

  it('SIGKILLs a scanner that ignores SIGTERM once the grace period is over', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'appscan');
    const record = path.join(scratch, 'record-stubborn.json');
    const agent = await startAgent(
      {
        scanners: { appscan: { command: [process.execPath, FAKE, 'stubborn', '120'] } },
        killGraceSeconds: 0.5,
      },
      { FAKE_SCANNER_RECORD: record },
    );
    const { pid } = await waitForRecord(record);
    agent.child.kill('SIGINT');
    expect(await agent.exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
    const failed = await adminTask(queued.id);
    expect(failed.status).toBe(6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'ignoring SIGTERM',
    );
  });

  it('kills a scan that outlives its timeoutSeconds and fails the task', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'spider');
    const record = path.join(scratch, 'record-timeout.json');
    await startAgent(
      {
        scanners: {
          spider: { command: [process.execPath, FAKE, 'sleep', '120'], timeoutSeconds: 0.5 },
        },
      },
      { FAKE_SCANNER_RECORD: record },
    );
    const { pid } = await waitForRecord(record);
    const failed = await waitForStatus(queued.id, 6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'for the following reason: scan timed out after 0.5s',
    );
    expect(isAlive(pid)).toBe(false);
  });

  it('fails the task when the command cannot be started', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'spider');
    await startAgent({
      scanners: { spider: { command: [path.join(scratch, 'no-such-scanner'), '{targetUrl}'] } },
    });
    const failed = await waitForStatus(queued.id, 6);
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toMatch(
      /Scan command could not start: spawn \S+no-such-scanner ENOENT/,
    );
  });

  it('stops the scan when the server answers 409 (task cancelled) and moves on to the next task', async () => {
    const applicationId = await givenApplication(t);
    const cancelled = await queueScan(t, applicationId, 'webinspect');
    const next = await queueScan(t, applicationId, 'webinspect');
    const record = path.join(scratch, 'record-cancel.json');
    const agent = await startAgent(
      {
        scanners: {
          webinspect: { command: [process.execPath, FAKE, 'sleep', '120'], timeoutSeconds: 600 },
        },
      },
      { FAKE_SCANNER_RECORD: record },
    );
    const { pid } = await waitForRecord(record);
    await agent.waitFor(new RegExp(`task ${cancelled.id}: started`));
    const cancel = await t.postForm(`/threadfix/rest/tasks/${cancelled.id}/cancel`, t.adminKey);
    expect(cancel.status).toBe(200);

    await agent.waitFor(new RegExp(`task ${cancelled.id}: scan stopped after`));
    expect(isAlive(pid)).toBe(false);
    expect((await adminTask(cancelled.id)).statusString).toBe('COMPLETE_DELETED');
    // It took the next task right away.
    await agent.waitFor(new RegExp(`task ${next.id}: claimed`));
    expect(await agent.stop()).toBe(0);
    expect((await adminTask(next.id)).status).toBe(6);
  });

  it('drops the result when the task was cancelled after its last status update', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'zap');
    const agent = await startAgent({
      scanners: {
        zap: { command: [process.execPath, FAKE, 'sleep', '2', '{outputFile}', ZAP_REPORT] },
      },
      statusIntervalSeconds: 600,
    });
    // Cancel once the first status update is recorded, so only the upload can learn of it.
    const deadline = Date.now() + 20_000;
    while (
      !(await adminTask(queued.id)).statusHistory.some((s) => s.message.startsWith('Scan started'))
    ) {
      if (Date.now() > deadline) throw new Error(`no status update:\n${agent.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await t.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, t.adminKey)).status).toBe(
      200,
    );
    await agent.waitFor(
      new RegExp(`task ${queued.id}: result refused, the task is no longer open: HTTP 409`),
    );
    expect((await adminTask(queued.id)).statusString).toBe('COMPLETE_DELETED');
    expect(await t.query('SELECT id FROM scans WHERE task_id = $1', [queued.id])).toEqual([]);
    expect(agent.output).not.toMatch(new RegExp(`task ${queued.id}: failed`));
  });

  it('stops with exit code 3 and a clear message when the server refuses the API key', async () => {
    const agent = await startAgent({
      apiKey: 'not-a-key-the-server-knows',
      scanners: { zap: { command: ['true'] } },
    });
    expect(await agent.exit).toBe(3);
    expect(agent.output).toMatch(
      /requestScanAgentKey refused by the server: HTTP 401: .* check apiKey/,
    );
    expect(agent.output).not.toContain('not-a-key-the-server-knows');
  });

  it.each([
    [
      { pollIntervalMinSeconds: -1 },
      {},
      'pollIntervalMinSeconds (SCANQUEUE_AGENT_POLL_INTERVAL_MIN_SECONDS)',
    ],
    [
      { scanners: { zap: { command: ['scan', '{target}'] } } },
      {},
      'scanners.zap.command[1]: unknown placeholder {target}',
    ],
    [
      {},
      { SCANQUEUE_AGENT_SERVER_URL: 'ftp://host/threadfix' },
      'serverUrl (SCANQUEUE_AGENT_SERVER_URL)',
    ],
    [{ apiKey: undefined }, {}, 'apiKey (SCANQUEUE_AGENT_API_KEY): is required'],
    [{ pollInterval: 5 }, {}, 'pollInterval: is not a known setting'],
  ])('exits 2 naming the field for a bad configuration %#', async (config, env, field) => {
    const agent = await startAgent(
      { scanners: { zap: { command: ['true'] } }, ...config },
      env as Record<string, string>,
    );
    expect(await agent.exit).toBe(2);
    expect(agent.output).toContain(`invalid configuration: ${field}`);
    expect(agent.output).not.toContain(apiKey);
  });

  it("prints the package's own version with --version", () => {
    const printed = execFileSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    expect(printed).toBe(`scanqueue-agent ${version}\n`);
  });
});

/**
 * Long polls and server-driven pacing against servers of their own (a queue no other test
 * touches, and the pacing under test): every request the agent sends goes through a
 * RecordingProxy, which shows what it carried and when it came.
 */
describe('scanqueue-agent long polls and pacing', () => {
  /** POLL_INTERVAL_SECONDS 2: a plain-polling agent would take up to 2.5 s to see a task. */
  let paced: TestServer;
  /** An interval no agent should wait out: its ceiling must cut it. */
  let huge: TestServer;
  const keys = new Map<TestServer, string>();

  beforeAll(async () => {
    // One after the other: two servers booting at once on a loaded machine can miss their deadline.
    paced = await TestServer.start({ POLL_INTERVAL_SECONDS: '2', POLL_WAIT_MAX_SECONDS: '30' });
    huge = await TestServer.start({ POLL_INTERVAL_SECONDS: '3600' });
    for (const server of [paced, huge]) {
      const created = await server.postJson<{ apiKey: string }>(
        '/threadfix/rest/api-keys',
        server.adminKey,
        { name: 'agent', permissions: ['CAN_RUN_SCAN_AGENT'] },
      );
      keys.set(server, created.body.object.apiKey);
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all([paced?.stop(), huge?.stop()]);
  });

  async function agentThrough(
    proxy: RecordingProxy,
    server: TestServer,
    config: Record<string, unknown>,
  ): Promise<AgentProcess> {
    return startAgent({
      serverUrl: `${proxy.baseUrl}/threadfix`,
      apiKey: keys.get(server),
      scanners: { spider: { command: [process.execPath, FAKE, 'sleep', '120'] } },
      ...config,
    });
  }

  /** The time the agent logged a claim of task `id`. */
  async function claimedAt(agent: AgentProcess, id: number): Promise<number> {
    const [, at] = await agent.waitFor(new RegExp(`^(\\S+) info  task ${id}: claimed`, 'm'));
    return Date.parse(at);
  }

  it('long-polls: a task queued during its wait is claimed within a second, by the poll that was waiting', async () => {
    const proxy = await RecordingProxy.start(paced);
    const agent = await agentThrough(proxy, paced, {
      pollWaitSeconds: 20,
      pollIntervalMinSeconds: 5,
      pollIntervalMaxSeconds: 10,
    });
    await agent.waitFor(/ready: .*long polls of 20s/);
    const [poll] = await proxy.untilPolls(1);
    expect(poll.wait).toBe('20');
    // Well into its wait: still the one request, not answered.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(proxy.polls()).toHaveLength(1);
    expect(poll.headersAt).toBeUndefined();

    const app = await givenApplication(paced);
    const queuedAt = Date.now();
    const queued = await queueScan(paced, app, 'spider');
    const pickupMs = (await claimedAt(agent, queued.id)) - queuedAt;
    // The waiting poll answered it: no second poll came (a plain poller told to wait 2 s would
    // have needed one, 0–2.5 s later). Typically ~100 ms; the bound leaves room for a loaded
    // machine (load average 15 on 2 cores measured 1.2 s).
    expect(proxy.polls()).toHaveLength(1);
    expect(pickupMs).toBeLessThan(1500);
    expect(poll.answeredAt! - queuedAt).toBeLessThan(1500);
    expect((await adminTask(queued.id, paced)).statusString).toBe('ASSIGNED');
    console.log(`long-poll pickup: queueScan → agent's claim in ${pickupMs} ms`);
  });

  it('waits between polls as long as the server asks (X-Scanqueue-Poll-Interval), not by its own backoff', async () => {
    const proxy = await RecordingProxy.start(paced);
    // Plain polls (no wait) and a backoff that alone would poll again within 0.1 s.
    const agent = await agentThrough(proxy, paced, {
      pollWaitSeconds: 0,
      pollIntervalMinSeconds: 0.05,
      pollIntervalMaxSeconds: 60,
    });
    const polls = await proxy.untilPolls(4);
    for (const poll of polls) expect(poll.wait).toBeUndefined();
    // The server says 2 s; the agent draws from [2, 2.5] s (plus a poll's own round trip).
    const spacing = gaps(polls);
    expect(Math.min(...spacing)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...spacing)).toBeLessThan(3000);
    // Jittered: not all the same to the 10 ms.
    expect(new Set(spacing.map((gap) => Math.round(gap / 10))).size).toBeGreaterThan(1);
    expect(agent.output).toMatch(/no task; next poll in 2\.\d\ds \(server interval 2s\)/);
    expect(agent.output).not.toMatch(/backoff \d/);
  });

  it('cuts a huge server interval at its pollIntervalMaxSeconds, still jittered', async () => {
    const proxy = await RecordingProxy.start(huge);
    const agent = await agentThrough(proxy, huge, {
      pollWaitSeconds: 0,
      pollIntervalMinSeconds: 0.05,
      pollIntervalMaxSeconds: 1,
    });
    // Told 3600 s, it polls again within [0.8, 1] s of each answer: 4 polls in about 3 s.
    const polls = await proxy.untilPolls(4, 10_000);
    const spacing = gaps(polls);
    expect(Math.min(...spacing)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...spacing)).toBeLessThan(1500);
    expect(agent.output).toContain('(server interval 3600s, cut to pollIntervalMaxSeconds 1s)');
  });

  it('on SIGTERM during a long poll hangs up at once and exits 0; the server hands the next task to no one', async () => {
    const proxy = await RecordingProxy.start(paced);
    const agent = await agentThrough(proxy, paced, { pollWaitSeconds: 30 });
    const [poll] = await proxy.untilPolls(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalledAt = Date.now();
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    const exitMs = Date.now() - signalledAt;
    // Not the rest of its 30 s wait, nor the request's timeout.
    expect(exitMs).toBeLessThan(1500);
    expect(poll.abandonedAt).toBeDefined();
    expect(poll.headersAt).toBeUndefined();
    expect(agent.output).toMatch(/received SIGTERM: stopping[\s\S]*stopped/);
    console.log(`SIGTERM during a long poll: exited in ${exitMs} ms`);

    // The server let the waiter go: a task queued now stays queued for the next agent.
    const queued = await queueScan(paced, await givenApplication(paced), 'spider');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await adminTask(queued.id, paced)).statusString).toBe('QUEUED');
    expect(
      (await paced.postForm(`/threadfix/rest/tasks/${queued.id}/cancel`, paced.adminKey)).status,
    ).toBe(200);
  });

  it('on SIGTERM while an answer with a task is arriving, reads it and fails the task "agent stopped" (not left to time out)', async () => {
    // The answer's headers come at once, its body 1.5 s later: the signal falls in between.
    const proxy = await RecordingProxy.start(paced, { holdBodyMs: 1500 });
    const agent = await agentThrough(proxy, paced, { pollWaitSeconds: 30 });
    const app = await givenApplication(paced);
    const queued = await queueScan(paced, app, 'spider');
    const deadline = Date.now() + 20_000;
    while (!proxy.polls().some((poll) => poll.headersAt !== undefined)) {
      if (Date.now() > deadline) throw new Error(`no answer began:\n${agent.output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    // The task it claimed was handed back failed, not left assigned to an agent that is gone.
    expect(agent.output).toMatch(
      new RegExp(`received SIGTERM: stopping[\\s\\S]*task ${queued.id}: claimed`),
    );
    const failed = await adminTask(queued.id, paced);
    expect(failed.statusString).toBe('COMPLETE_FAILED');
    expect(failed.statusHistory[failed.statusHistory.length - 1].message).toContain(
      'for the following reason: agent stopped',
    );
  });
});

/**
 * Shared by the benchmarks: the PostgreSQL they run on (DATABASE_URL's server, else an embedded one
 * in a temporary folder), throwaway databases on it, a built scanqueue child process, generated ZAP
 * reports, multipart streaming, /proc sampling and percentiles.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';

export const ROOT = path.resolve(__dirname, '..');
export const ZAP = 'OWASP Zed Attack Proxy';

/**
 * Issue 15's claim yardstick: the least a claim with history can be on scanqueue's tables, one
 * statement (the oldest of the highest priority, as scanqueue's claim takes it; served by
 * scan_queue_tasks_claimable_idx), sent as a pg named statement (prepared once per connection):
 * from the load generator (row 1's yardstick) and behind bare Fastify (one of row 1's floors,
 * bench/yardstick-server.ts).
 */
export const MINIMAL_CLAIM = {
  name: 'bench_minimal_claim',
  text: `WITH claimed AS (
           UPDATE scan_queue_tasks SET status = 2, start_time = now(), scan_agent_id = $1
           WHERE id = (SELECT id FROM scan_queue_tasks
                       WHERE status = 1 AND active AND scanner = $2
                       ORDER BY priority DESC, id
                       LIMIT 1
                       FOR UPDATE SKIP LOCKED)
           RETURNING id
         )
         INSERT INTO scan_statuses (task_id, message, from_status, to_status, actor_type, actor_id)
         SELECT id, $3, 1, 2, 'agent', $1 FROM claimed
         RETURNING task_id`,
};

/** The history message of the bench's claims (scanqueue's for an agent whose agentConfig is `bench`). */
export const CLAIM_MESSAGE = 'Assigning task to an agent with agentConfig:\nbench';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** CPU time (user + system) a process has used, in seconds. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** A process's CPU time in user space and in the kernel (its system calls), in seconds. */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, system: 0 }; // the process has exited
  }
}

/** Busy CPU time of the whole machine (all cores, every process), in seconds. */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A well-formed ZAP report of about `bytes` bytes, produced chunk by chunk. */
export async function* zapReport(bytes: number): AsyncGenerator<Buffer> {
  const alert = Buffer.from(
    '<alertitem><pluginid>10020</pluginid><alert>X-Frame-Options Header Not Set</alert><name>X-Frame-Options Header Not Set</name>' +
      '<riskcode>2</riskcode><confidence>2</confidence><riskdesc>Medium (Medium)</riskdesc><desc>&lt;p&gt;X-Frame-Options header is not included.&lt;/p&gt;</desc>' +
      '<instances><instance><uri>http://target.example/app/page</uri><method>GET</method><param>X-Frame-Options</param></instance></instances>' +
      '<count>1</count><solution>Set the header.</solution><cweid>1021</cweid><wascid>15</wascid><sourceid>3</sourceid></alertitem>\n',
  );
  const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / alert.length) }, () => alert));
  yield Buffer.from(
    '<?xml version="1.0"?><OWASPZAPReport version="2.16.1" generated="now"><site name="http://target.example" host="target.example" port="80" ssl="false"><alerts>\n',
  );
  for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
  yield Buffer.from('</alerts></site></OWASPZAPReport>\n');
}

export interface UploadResult {
  status: number;
  text: string;
  bytes: number;
  seconds: number;
}

/** POSTs a multipart form: `fields`, then a generated ZAP report of `sizeMb` as the part `file`. */
export async function uploadZapReport(
  url: string,
  headers: Record<string, string>,
  fields: Record<string, string | number>,
  sizeMb: number,
): Promise<UploadResult> {
  const boundary = `----scanqueue${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ZAPRESULTS.xml"\r\nContent-Type: application/xml\r\n\r\n`;
  let bytes = 0;
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from(head);
    for await (const chunk of zapReport(sizeMb * 1024 * 1024)) {
      bytes += chunk.length;
      yield chunk;
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  const started = process.hrtime.bigint();
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    pipeline(Readable.from(body()), req).catch(reject);
  });
  return { ...response, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** A small form POST over a keep-alive agent; resolves with the status, headers and body text. */
export function postForm(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent,
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One REST call to scanqueue; throws unless the envelope says success. */
export async function api<T = unknown>(
  base: string,
  key: string,
  method: string,
  url: string,
  form?: Record<string, string | number>,
): Promise<T> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `APIKEY ${key}` },
    body: form
      ? new URLSearchParams(Object.entries(form).map(([k, v]): [string, string] => [k, String(v)]))
      : undefined,
  });
  const body = (await res.json()) as { success: boolean; message: string; object: T };
  if (!body.success) throw new Error(`${url}: ${res.status} ${body.message}`);
  return body.object;
}

/** An application, an agent key and one claimed ZAP task: where the memory benches upload to. */
export async function givenClaimedZapTask(base: string, key: string) {
  const app = await api<{ id: number }>(base, key, 'POST', '/applications', {
    name: 'bench',
    url: 'http://target.example',
  });
  const agentKey = await api<string>(base, key, 'GET', '/tasks/requestScanAgentKey');
  await api(base, key, 'POST', '/tasks/queueScan', { applicationId: app.id, scannerType: 'zap' });
  const task = await api<{ taskId: number; secureTaskKey: string }>(
    base,
    key,
    'POST',
    '/tasks/requestTask',
    { scanners: 'zap', agentConfig: 'bench', scanAgentSecureKey: agentKey },
  );
  return { agentKey, task };
}

export async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * The PostgreSQL server the benchmarks use: DATABASE_URL's (only databases created here are
 * touched) or an embedded one in a temporary folder. `create` makes a fresh database and returns
 * its URL; `close` drops every database it made and stops the embedded server.
 */
export interface BenchDatabase {
  embedded: boolean;
  create(suffix: string): Promise<string>;
  close(): Promise<void>;
}

export async function startDatabase(): Promise<BenchDatabase> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded = async (): Promise<void> => undefined;
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(tmpdir(), 'scanqueue-bench-pg-'));
    const embedded = await startEmbeddedPostgres(dir, await freePort());
    adminUrl = embedded.url;
    stopEmbedded = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = adminUrl;
  const prefix = `scanqueue_bench_${randomBytes(4).toString('hex')}`;
  const made: string[] = [];
  return {
    embedded: !process.env.DATABASE_URL,
    async create(suffix) {
      const name = `${prefix}_${suffix}`;
      await withClient(admin, (c) => c.query(`CREATE DATABASE ${name}`));
      made.push(name);
      const url = new URL(admin);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      for (const name of made.splice(0)) {
        await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      }
      await stopEmbedded();
    },
  };
}

export interface Scanqueue {
  process: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:port/threadfix/rest/latest` */
  base: string;
  /** The bootstrap API key (every permission). */
  key: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The built server (`dist/src/main.js` of the checkout `root`, this one by default) on a free
 * loopback port, against `databaseUrl`.
 */
export async function startScanqueue(
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  root = ROOT,
): Promise<Scanqueue> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-bench-'));
  const port = await freePort();
  const key = randomBytes(32).toString('base64url');
  // BENCH_SERVER_NODE_ARGS: e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the server a row runs.
  const serverArgs = [
    ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ...nodeArgs,
    path.join(root, 'dist/src/main.js'),
  ];
  const child = spawn(process.execPath, serverArgs, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      BOOTSTRAP_API_KEY: key,
      LOG_LEVEL: 'warn',
      // The rows time the protocol; a background import of the uploaded reports would only add noise.
      IMPORT_POLL_INTERVAL_SECONDS: '0',
      DATABASE_URL: databaseUrl,
      // A request limit would measure the limiter, not the service (all from 127.0.0.1 besides).
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0',
      // The status row posts to each task for seconds on end: time appends, not the per-task cap.
      STATUS_MESSAGES_PER_TASK: '1000000',
      // CLAIM_BATCH_MAX=1 runs every claim as its own statement (rows 1-2 without batching).
      ...(process.env.CLAIM_BATCH_MAX ? { CLAIM_BATCH_MAX: process.env.CLAIM_BATCH_MAX } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForHttp(`http://127.0.0.1:${port}/threadfix/health`, child);
  return {
    process: child,
    pid: child.pid as number,
    base: `http://127.0.0.1:${port}/threadfix/rest/latest`,
    key,
    dataDir,
    stop: async () => {
      await stopChild(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitForHttp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    if (i > 600) throw new Error(`${url}: did not start`);
    const up = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await sleep(100);
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * completeTask memory: streams a generated ZAP report of SIZE_MB (default 200) to a scanqueue
 * process and samples that process's RSS while it uploads. The server must stay flat: the file
 * goes request → inspector → temp file, never into memory. Run: npm run bench:upload-memory [-- 500]
 * Uses DATABASE_URL (a fresh database on that server) or, when unset, the embedded PostgreSQL.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';

const ROOT = path.resolve(__dirname, '..');
const sizeMb = Number(process.argv[2] ?? 200);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** A well-formed ZAP report of about `bytes` bytes, produced chunk by chunk. */
async function* zapReport(bytes: number): AsyncGenerator<Buffer> {
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

async function api(
  base: string,
  key: string,
  method: string,
  url: string,
  form?: Record<string, string | number>,
) {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `APIKEY ${key}` },
    body: form
      ? new URLSearchParams(Object.entries(form).map(([k, v]): [string, string] => [k, String(v)]))
      : undefined,
  });
  const body = (await res.json()) as { success: boolean; message: string; object: never };
  if (!body.success) throw new Error(`${url}: ${res.status} ${body.message}`);
  return body.object;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-bench-'));
  const port = await freePort();
  const key = randomBytes(32).toString('base64url');
  let databaseUrl: string | undefined;
  let dropDatabase = async () => undefined as void;
  if (process.env.DATABASE_URL) {
    const name = `scanqueue_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const c = new Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    BOOTSTRAP_API_KEY: key,
    LOG_LEVEL: 'warn',
    MAX_UPLOAD_BYTES: String((sizeMb + 64) * 1024 * 1024),
    EMBEDDED_PG_PORT: String(await freePort()),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const server: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    env,
    stdio: 'inherit',
  });
  const base = `http://127.0.0.1:${port}/threadfix/rest/latest`;
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error('server did not start');
      if (
        await fetch(`http://127.0.0.1:${port}/threadfix/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const app = await api(base, key, 'POST', '/applications', {
      name: 'bench',
      url: 'http://target.example',
    });
    const agentKey: string = await api(base, key, 'GET', '/tasks/requestScanAgentKey');
    await api(base, key, 'POST', '/tasks/queueScan', {
      applicationId: (app as { id: number }).id,
      scannerType: 'zap',
    });
    const task: { taskId: number; secureTaskKey: string } = await api(
      base,
      key,
      'POST',
      '/tasks/requestTask',
      {
        scanners: 'zap',
        agentConfig: 'bench',
        scanAgentSecureKey: agentKey,
      },
    );

    // Let the idle server settle, then sample its RSS through the upload.
    await new Promise((r) => setTimeout(r, 1000));
    const pid = server.pid as number;
    const baselineKb = rssKb(pid);
    let peakKb = baselineKb;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid))), 20);

    const boundary = `----scanqueue${randomBytes(8).toString('hex')}`;
    const fields = {
      scanQueueTaskId: task.taskId,
      scanAgentSecureKey: agentKey,
      secureTaskKey: task.secureTaskKey,
    };
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
      const req = request(`${base}/tasks/completeTask`, {
        method: 'POST',
        headers: {
          authorization: `APIKEY ${key}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      pipeline(Readable.from(body()), req).catch(reject);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    peakKb = Math.max(peakKb, rssKb(pid));
    const ok =
      response.status === 200 &&
      (JSON.parse(response.text) as { object: { status: number } }).object.status === 3;
    const result = {
      fileMB: +(bytes / 1048576).toFixed(1),
      status: response.status,
      taskCompleted: ok,
      seconds: +seconds.toFixed(2),
      mbPerSecond: +(bytes / 1048576 / seconds).toFixed(1),
      serverRssBaselineMB: +(baselineKb / 1024).toFixed(1),
      serverRssPeakMB: +(peakKb / 1024).toFixed(1),
      serverRssGrowthMB: +((peakKb - baselineKb) / 1024).toFixed(1),
      node: process.version,
    };
    console.log(JSON.stringify(result, null, 2));
    if (!ok) throw new Error(`upload failed: ${response.status} ${response.text.slice(0, 300)}`);
    if (result.serverRssGrowthMB >= 64) process.exitCode = 1;
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await dropDatabase();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

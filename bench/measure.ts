/**
 * `npm run bench`'s options and measuring: the row parameters, the load-generator process, CPU
 * accounting from /proc, the alternation of a pair's members and the medians.
 */
import { ChildProcess, fork } from 'node:child_process';
import { cpus } from 'node:os';
import * as path from 'node:path';
import type { Job } from './loadgen';
import { cpuSeconds, machineBusySeconds, median, stopChild } from './support';

export const QUICK = process.argv.includes('--quick');
/** `--rows=3,4` runs only those rows; without `--baseline` it prints them and writes no report. */
export const ONLY_ROWS = process.argv
  .find((arg) => arg.startsWith('--rows='))
  ?.slice('--rows='.length)
  .split(',')
  .map(Number);
export const runs = (row: number) => ONLY_ROWS?.includes(row) ?? true;
/** `--baseline=<checkout>`: each row pits this build against that checkout's build (dist/). */
export const BASELINE = process.argv
  .find((arg) => arg.startsWith('--baseline='))
  ?.slice('--baseline='.length);
/**
 * `--wait=N` (1–300 s, as POLL_WAIT_MAX_SECONDS allows): row 7's agents wait N seconds a poll,
 * scanqueue's POLL_WAIT_MAX_SECONDS and bare Fastify's cap set to it; without it, 30 s (the
 * product's default; 4 s in --quick). For row 7b's idle CPU at other waits.
 */
export const WAIT_SECONDS = waitOption();
function waitOption(): number | undefined {
  const option = process.argv.find((arg) => arg.startsWith('--wait='));
  if (option === undefined) return undefined;
  const seconds = Number(option.slice('--wait='.length));
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300)
    throw new Error(`${option}: a whole number of seconds from 1 to 300`);
  return seconds;
}
export const AGENTS = 64;
export const P = QUICK
  ? {
      warmUp: false,
      rounds: 2,
      depth: 400,
      claims: 200,
      claimSeconds: 1,
      statusSeconds: 1,
      claimConcurrencies: [4, 8, 16],
      sizesMb: [1, 2],
      uploadRounds: 2,
      history: { queued: 2_000, finished: 20_000, small: 200, claims: 100, seconds: 1, rounds: 2 },
      pickup: {
        agents: 500,
        waitSeconds: WAIT_SECONDS ?? 4,
        rounds: 2,
        tasksPerRound: 10,
        idleSeconds: 2,
      },
    }
  : {
      warmUp: true,
      rounds: 4,
      depth: 10_000,
      claims: 5_000,
      claimSeconds: 10,
      statusSeconds: 8,
      /** Rows 1-2: each claimer (scanqueue's agents, pg connections, pg-boss) at its best of these. */
      claimConcurrencies: [4, 8, 16],
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
      /** Row 7: agents long-polling (POLL_WAIT_MAX_SECONDS's default wait), tasks, idle windows. */
      pickup: {
        agents: 10_000,
        waitSeconds: WAIT_SECONDS ?? 30,
        rounds: 4,
        tasksPerRound: 50,
        idleSeconds: 10,
      },
    };

const started = Date.now();
export function log(line: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
}

interface CpuSplit {
  wallSeconds: number;
  /** Share of the machine's 2 cores (1 = both cores busy the whole time). */
  server: number;
  loadgen: number;
  /** PostgreSQL and everything else on the machine. */
  other: number;
}

export interface Trial<T> {
  result: T;
  cpu: CpuSplit;
}

class LoadGen {
  private readonly child: ChildProcess = fork(path.join(__dirname, 'loadgen.ts'), [], {
    // BENCH_LOADGEN_NODE_ARGS: e.g. `--trace-gc`, as BENCH_SERVER_NODE_ARGS for the server.
    execArgv: [
      ...(process.env.BENCH_LOADGEN_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '-r',
      'ts-node/register/transpile-only',
    ],
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

export const loadgen = new LoadGen();

/** Runs `work` and records how the cores were shared meanwhile (from /proc). */
export async function measured<T>(
  serverPid: number | null,
  work: () => Promise<T>,
): Promise<Trial<T>> {
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

export type Members<T> = Record<string, () => Promise<Trial<T>>>;

/** Alternates the members `rounds` times (A, B, …, A, B, …), after one unmeasured warm-up each. */
export async function alternate<T>(
  rounds: number,
  members: Members<T>,
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

export type Summary = Record<string, number>;

/** Each member's medians of `pick` and of its CPU shares. */
export function summarize<T>(
  trials: Record<string, Trial<T>[]>,
  pick: Record<string, (r: T) => number>,
): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const [member, list] of Object.entries(trials)) {
    const s: Summary = {};
    for (const [key, get] of Object.entries(pick)) s[key] = median(list.map((t) => get(t.result)));
    for (const key of ['server', 'loadgen', 'other'] as const) {
      s[`cpu_${key}`] = median(list.map((t) => t.cpu[key]));
    }
    out[member] = s;
  }
  return out;
}

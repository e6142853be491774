/**
 * Evidence for issue 15 item 1 (docs/performance.md): scanqueue's claim statement, verbatim
 * (task-transitions.repository.ts), sent as TypeORM sends it (unnamed: parsed and planned on every
 * call) and as a pg named query (src/sql/prepared-statements.ts: prepared once per
 * connection), over pools of several sizes, alternated; then requestTask over HTTP (64 agents)
 * against servers started with several DATABASE_POOL_SIZE values.
 * Run: npm run build && npx ts-node --transpile-only bench/prepared-claims.ts [seconds] [rounds] [pg|http]
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { Pool } from 'pg';
import { EntityManager } from 'typeorm';
import { generateSecretKey, hashSecretKey } from '../src/auth/secret-keys';
import { EVERY_TEAM } from '../src/auth/team-scope';
import { TaskTransitionsRepository } from '../src/tasks/task-transitions.repository';
import { fixture, resetQueue } from './fixture';
import type { ClaimResult, Job } from './loadgen';
import {
  median,
  percentile,
  Scanqueue,
  startDatabase,
  startScanqueue,
  stopChild,
  ZAP,
} from './support';

const SECONDS = Number(process.argv[2] ?? 4);
const ROUNDS = Number(process.argv[3] ?? 3);
/** `http` runs only the HTTP part, `pg` only the statements' part. */
const ONLY = process.argv[4];
const POOLS = [4, 6, 20];
const HTTP_POOLS = [4, 6, 20];
const transitions = new TaskTransitionsRepository();

/** The claim over `pool`: `workers` loops for SECONDS, each claim on any of its connections. */
async function claims(
  pool: Pool,
  workers: number,
  named: boolean,
  agentKeyHashes: string[],
  apiKeyId: number,
): Promise<ClaimResult> {
  const latencies: number[] = [];
  let got = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (Date.now() - started < SECONDS * 1000) {
        const t0 = process.hrtime.bigint();
        const tx = {
          query: async (text: string, values: unknown[]) =>
            (await pool.query(named ? { name: 'bench_claim', text, values } : { text, values }))
              .rows,
        } as unknown as EntityManager;
        const claim = await transitions.claimNextTask(tx, {
          apiKeyId,
          scope: EVERY_TEAM,
          scanners: [{ displayName: ZAP, shortName: 'zap' }],
          agentKeyHash: agentKeyHashes[worker % agentKeyHashes.length],
          secureKeyHash: hashSecretKey(generateSecretKey()),
          agentInfo: 'bench',
          message: 'Assigning task to an agent with agentConfig:\nbench',
        });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (claim.task) got++;
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    claims: got,
    empty: 0,
    seconds: elapsed,
    perSecond: got / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

const show = (r: ClaimResult) =>
  `${r.perSecond.toFixed(0)}/s p50 ${r.p50Ms.toFixed(1)} ms p99 ${r.p99Ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const database = await startDatabase();
  const loadgen = fork(path.join(__dirname, 'loadgen.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: 'inherit',
  });
  const runJob = (job: Job) =>
    new Promise<ClaimResult>((resolve, reject) => {
      loadgen.once('message', (m: { result?: ClaimResult; error?: string }) =>
        m.error ? reject(new Error(m.error)) : resolve(m.result as ClaimResult),
      );
      loadgen.send(job);
    });
  let sq: Scanqueue | undefined;
  try {
    const url = await database.create('prepared');
    sq = await startScanqueue(url);
    const f = await fixture(sq, url, 64);
    const hashes = f.agentKeys.map(hashSecretKey);
    const results = new Map<string, number[]>();
    const record = (label: string, r: ClaimResult) => {
      results.set(label, [...(results.get(label) ?? []), r.perSecond]);
      console.log(`${label}: ${show(r)}`);
    };
    for (let round = 0; round < ROUNDS && ONLY !== 'http'; round++) {
      for (const size of POOLS) {
        for (const named of [false, true]) {
          await resetQueue(f, 40_000);
          const pool = new Pool({ connectionString: url, max: size });
          pool.on('error', (error) => console.error(`pool: ${error.message}`));
          const label = `pg pool ${size}, 64 workers, ${named ? 'prepared' : 'planned per call'}`;
          record(label, await claims(pool, 64, named, hashes, f.apiKeyId));
          await pool.end();
        }
      }
    }
    await sq.stop();
    sq = undefined;
    for (let round = 0; round < ROUNDS && ONLY !== 'pg'; round++) {
      for (const size of HTTP_POOLS) {
        sq = await startScanqueue(url, { DATABASE_POOL_SIZE: String(size) });
        await resetQueue(f, 40_000);
        const job: Job = {
          kind: 'claim-http',
          base: sq.base,
          apiKey: sq.key,
          agentKeys: f.agentKeys,
          claims: 1_000_000,
          seconds: SECONDS,
        };
        record(`HTTP, 64 agents, DATABASE_POOL_SIZE=${size}`, await runJob(job));
        await sq.stop();
        sq = undefined;
      }
    }
    console.log('\nmedian claims/s over rounds:');
    for (const [label, values] of results) console.log(`  ${label}: ${median(values).toFixed(0)}`);
    await f.db.end();
  } finally {
    await sq?.stop();
    await stopChild(loadgen);
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

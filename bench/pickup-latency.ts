/**
 * Issue 15's pickup row at the module level (src/wakeups/, no HTTP): 10,000 polls wait on one
 * process for ZAP tasks; tasks are queued one at a time (each INSERT its own transaction, by a
 * pg client in this process), and each latency runs from the INSERT sent to the resolution of the
 * waiter it woke (the woken "agent" waits again at once). Then this process's CPU while the
 * 10,000 wait and nothing is queued. Database: DATABASE_URL's server or an embedded one, migrated
 * by the built server.
 * Run: npm run build && npx ts-node --transpile-only bench/pickup-latency.ts [waiters] [tasks]
 */
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { Wakeups } from '../src/wakeups/wakeups';
import { median, percentile, sleep, startDatabase, startScanqueue, ZAP } from './support';

const WAITERS = Number(process.argv[2] ?? 10_000);
const TASKS = Number(process.argv[3] ?? 300);
const IDLE_SECONDS = 10;

async function main(): Promise<void> {
  const database = await startDatabase();
  try {
    const url = await database.create('pickup');
    const sq = await startScanqueue(url); // migrates (the trigger included)
    await sq.stop();
    const db = new Client({ connectionString: url });
    await db.connect();
    const [{ id: appId }] = (
      await db.query<{ id: number }>(
        `INSERT INTO applications (name, team_id) SELECT 'pickup', id FROM teams WHERE is_default RETURNING id`,
      )
    ).rows;
    const wakeups = new Wakeups(
      { POLL_WAIT_MAX_SECONDS: 300, POLL_MAX_WAITERS: WAITERS, POLL_EMPTY_CACHE_MS: 5000 },
      url,
      new Registry(),
      console,
    );
    wakeups.start();
    while (!wakeups.listening) await sleep(10);

    let woken: (() => void) | undefined;
    const agent = async (): Promise<void> => {
      while ((await wakeups.wait([ZAP], 300_000)) === 'woken') {
        woken?.();
        // The agent claims (not here) and waits again.
      }
    };
    const agents = Array.from({ length: WAITERS }, () => agent());
    await sleep(500);

    const latencies: number[] = [];
    for (let i = 0; i < TASKS; i++) {
      const wake = new Promise<void>((resolve) => (woken = resolve));
      const t0 = process.hrtime.bigint();
      await db.query(
        `INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds) VALUES ($1, $2, 1, 60)`,
        [appId, ZAP],
      );
      await wake;
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(5);
    }
    latencies.sort((a, b) => a - b);

    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    await sleep(IDLE_SECONDS * 1000);
    const cpu = process.cpuUsage(cpu0);
    const idleCpu = (cpu.user + cpu.system) / 1000 / (Date.now() - t0);

    const rss = process.memoryUsage().rss / 1024 / 1024;
    console.log(
      JSON.stringify(
        {
          waiters: wakeups.waiting,
          tasks: TASKS,
          pickupMs: {
            p50: +median(latencies).toFixed(2),
            p99: +percentile(latencies, 99).toFixed(2),
            max: +latencies[latencies.length - 1].toFixed(2),
          },
          idleCpuPercentOfOneCore: +(idleCpu * 100).toFixed(2),
          rssMb: Math.round(rss),
        },
        null,
        2,
      ),
    );
    wakeups.answerAll();
    await Promise.all(agents);
    await wakeups.stop();
    await db.end();
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

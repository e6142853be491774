/**
 * Dropped database connections (`pg_terminate_backend`, as a failover or an administrator does it)
 * under a running server with 16 agents and two queuers at work: every answer is a 2xx/4xx or the
 * documented 503 (never a 500, never no answer), the data stays consistent (no task handed out
 * twice, every successful task with exactly one scan and its file, no file without its scan, a
 * status history that matches each task's status), and the server recovers by itself.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Client } from 'pg';
import { AgentTask, fixture, givenAgentKey, givenApplication, TASKS } from './support/agent-flow';
import { RestResult, TestServer } from './support/test-server';

const AGENTS = 16;
const QUEUERS = 2;
const STORM_MS = 15_000;
const UNAVAILABLE = 'The database is unavailable; retry shortly.';
const ZAP = fixture('zap/5_zap_sample_one.xml');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request that got no HTTP answer (fetch's errors come from another realm than Jest's Error). */
interface NoAnswer {
  noAnswer: string;
}

/** Every answer the clients got, by operation; `problems` are the ones no client should ever see. */
class Answers {
  readonly counts: Record<string, Record<string, number>> = {};
  readonly problems: string[] = [];

  record(operation: string, answer: RestResult | NoAnswer): void {
    const label = 'noAnswer' in answer ? 'no answer' : String(answer.status);
    const byStatus = (this.counts[operation] ??= {});
    byStatus[label] = (byStatus[label] ?? 0) + 1;
    if ('noAnswer' in answer) {
      this.problems.push(`${operation}: no answer (${answer.noAnswer})`);
      return;
    }
    const { status, body } = answer;
    const ok = status < 500 || (status === 503 && body.message === UNAVAILABLE);
    if (!ok || body.responseCode !== -1)
      this.problems.push(`${operation}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }

  total(status: string): number {
    return Object.values(this.counts).reduce((sum, byStatus) => sum + (byStatus[status] ?? 0), 0);
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describe('database connections dropped under load', () => {
  let t: TestServer;
  let killer: Client;

  beforeAll(async () => {
    t = await TestServer.start();
    // Only the server's connections (application_name scanqueue) are terminated, not the test's.
    t.db.on('error', () => undefined);
    killer = new Client({
      connectionString: t.env.DATABASE_URL,
      application_name: 'outage-test-killer',
    });
    await killer.connect();
  });
  afterAll(async () => {
    await killer?.end();
    await t?.stop();
  });

  /** One call, recorded; a 503 is retried (as an agent does) up to `retries` times. */
  async function call<T>(
    answers: Answers,
    operation: string,
    send: () => Promise<RestResult<T>>,
    retries = 0,
  ): Promise<RestResult<T> | undefined> {
    for (let attempt = 0; ; attempt++) {
      let answer: RestResult<T> | NoAnswer;
      try {
        answer = await send();
      } catch (error) {
        answer = { noAnswer: String((error as { message?: unknown }).message ?? error) };
      }
      answers.record(operation, answer as RestResult | NoAnswer);
      if ('noAnswer' in answer) return undefined;
      if (answer.status !== 503 || attempt >= retries) return answer;
      await sleep(20 + Math.random() * 80);
    }
  }

  it('answers 503 (never 500) while its connections are terminated, keeps the data consistent and recovers', async () => {
    const apps: number[] = [];
    for (let i = 0; i < 4; i++) apps.push(await givenApplication(t));
    const agentKeys: string[] = [];
    for (let i = 0; i < AGENTS; i++) agentKeys.push(await givenAgentKey(t));
    const answers = new Answers();
    /** taskId → the agent keys it was handed to (from requestTask answers). */
    const handedOut = new Map<number, string[]>();
    const completed = new Set<number>();
    let kills = 0;
    let stop = false;

    const queuer = async (n: number) => {
      for (let i = 0; !stop; i++) {
        await call(answers, 'queueScan', () =>
          t.postForm(`${TASKS}/queueScan`, t.adminKey, {
            applicationId: apps[(n + i) % apps.length],
            scannerType: 'zap',
          }),
        );
        await sleep(10);
      }
    };

    const agent = async (agentKey: string) => {
      while (!stop) {
        const claim = await call(answers, 'requestTask', () =>
          t.postForm<AgentTask>(`${TASKS}/requestTask`, t.adminKey, {
            scanners: 'zap',
            agentConfig: 'os.name=Linux',
            scanAgentSecureKey: agentKey,
          }),
        );
        if (!claim || claim.status !== 200 || !claim.body.success) {
          await sleep(20);
          continue;
        }
        const { taskId, secureTaskKey } = claim.body.object;
        handedOut.set(taskId, [...(handedOut.get(taskId) ?? []), agentKey]);
        const keys = { scanQueueTaskId: taskId, secureTaskKey, scanAgentSecureKey: agentKey };
        await call(
          answers,
          'taskStatusUpdate',
          () =>
            t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, { ...keys, message: 'Spidering' }),
          5,
        );
        const done = await call(
          answers,
          'completeTask',
          () =>
            t.postMultipart(`${TASKS}/completeTask`, t.adminKey, keys, {
              name: 'zap.xml',
              content: ZAP,
            }),
          20,
        );
        if (done?.status === 200) completed.add(taskId);
      }
    };

    const terminate = async () => {
      while (!stop) {
        await sleep(100 + Math.random() * 300);
        const rows = await killer.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'scanqueue' AND pid <> pg_backend_pid()`,
        );
        kills += rows.rowCount ?? 0;
      }
    };

    const workers = [
      ...agentKeys.map((key) => agent(key)),
      ...Array.from({ length: QUEUERS }, (_, n) => queuer(n)),
      terminate(),
    ];
    await sleep(STORM_MS);
    stop = true;
    await Promise.all(workers);

    console.log(
      `database outage: ${kills} backends terminated; answers ${JSON.stringify(answers.counts)}`,
    );
    expect(answers.problems.slice(0, 20)).toEqual([]);
    // The storm did reach the clients, and work still got done through it.
    expect(kills).toBeGreaterThan(20);
    expect(answers.total('503')).toBeGreaterThan(0);
    expect(completed.size).toBeGreaterThan(0);

    // Recovery by itself: healthy, and a whole agent flow goes through.
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${t.baseUrl}/threadfix/health`)).status !== 200 && Date.now() < deadline)
      await sleep(100);
    expect((await fetch(`${t.baseUrl}/threadfix/health`)).status).toBe(200);
    const app = await givenApplication(t);
    const queued = await t.postForm<{ id: number }>(`${TASKS}/queueScan`, t.adminKey, {
      applicationId: app,
      scannerType: 'burp',
    });
    expect(queued.status).toBe(200);
    const agentKey = await givenAgentKey(t);
    const claim = await t.postForm<AgentTask>(`${TASKS}/requestTask`, t.adminKey, {
      scanners: 'burp',
      agentConfig: 'os.name=Linux',
      scanAgentSecureKey: agentKey,
    });
    expect(claim.body.object.taskId).toBe(queued.body.object.id);
    const finished = await t.postMultipart<{ status: number }>(
      `${TASKS}/completeTask`,
      t.adminKey,
      {
        scanQueueTaskId: claim.body.object.taskId,
        secureTaskKey: claim.body.object.secureTaskKey,
        scanAgentSecureKey: agentKey,
      },
      { name: 'burp.xml', content: fixture('burp/one_finding.xml') },
    );
    expect([finished.status, finished.body.object.status]).toEqual([200, 3]);

    // No task handed to two agents, by the answers and by the history.
    expect([...handedOut].filter(([, keys]) => keys.length > 1)).toEqual([]);
    expect(
      await t.query(
        `SELECT task_id, count(*)::int AS claims FROM scan_statuses WHERE to_status = 2
         GROUP BY task_id HAVING count(*) > 1`,
      ),
    ).toEqual([]);

    // The history of every task is one unbroken chain of transitions ending in its status.
    const tasks = await t.query<{ id: number; status: number; scan_agent_id: number | null }>(
      'SELECT id, status, scan_agent_id FROM scan_queue_tasks ORDER BY id',
    );
    const history = await t.query<{
      task_id: number;
      from_status: number | null;
      to_status: number;
      actor_id: number | null;
    }>(
      `SELECT task_id, from_status, to_status, actor_id FROM scan_statuses
       WHERE to_status IS NOT NULL ORDER BY task_id, id`,
    );
    const broken: string[] = [];
    for (const task of tasks) {
      const chain = history.filter((row) => row.task_id === task.id);
      const steps = chain.map((row) => `${row.from_status ?? '-'}>${row.to_status}`).join(' ');
      const linked = chain.every(
        (row, i) => row.from_status === (i === 0 ? null : chain[i - 1].to_status),
      );
      const claimedBy = chain.find((row) => row.to_status === 2)?.actor_id ?? null;
      if (
        chain[0]?.to_status !== 1 ||
        !linked ||
        chain[chain.length - 1].to_status !== task.status ||
        claimedBy !== task.scan_agent_id
      )
        broken.push(`task ${task.id} (status ${task.status}): ${steps}`);
    }
    expect(broken).toEqual([]);
    // Every task an agent was told is complete is complete.
    const status = new Map(tasks.map((task) => [task.id, task.status]));
    expect([...completed].filter((id) => status.get(id) !== 3)).toEqual([]);

    // Every COMPLETE_SUCCESSFUL task has exactly one scan, and only they have one.
    const scans = await t.query<{
      task_id: number;
      storage_key: string;
      sha256: string;
      size_bytes: string;
    }>('SELECT task_id, storage_key, sha256, size_bytes FROM scans ORDER BY task_id');
    const successful = tasks.filter((task) => task.status === 3).map((task) => task.id);
    expect(scans.map((scan) => scan.task_id)).toEqual(successful);

    // Once the server has stopped, booted again and stopped: every scan has its file, intact, and
    // no file is without its scan. The boot matters: a file whose COMMIT broke and whose outcome
    // the database could not tell in time is kept (never a scan without its file), and the boot
    // reconciliation removes it when no scan refers to it.
    await t.kill('SIGTERM');
    await t.spawn();
    await t.kill('SIGTERM');
    const storage = path.join(t.dataDir, 'scans');
    for (const scan of scans) {
      const content = await readFile(path.join(storage, scan.storage_key)).catch(() => undefined);
      expect({ key: scan.storage_key, size: content?.length }).toEqual({
        key: scan.storage_key,
        size: Number(scan.size_bytes),
      });
      expect(
        createHash('sha256')
          .update(content ?? '')
          .digest('hex'),
      ).toBe(scan.sha256);
    }
    const files = await filesUnder(storage);
    expect(files.filter((file) => file.startsWith('.incoming'))).toEqual([]);
    expect(files.sort()).toEqual(scans.map((scan) => scan.storage_key).sort());
  }, 180_000);
});

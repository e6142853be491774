/**
 * Row 7's load (run in the load-generator process): a fleet of agents long-polling requestTask
 * over HTTP keep-alive, one socket each, re-polling at once when a wait ends ("No task found."),
 * as a long-polling agent does. Tasks are then queued one at a time with queueScan, and each
 * pickup is timed from sending queueScan to the answer of the agent it woke; between the rounds of
 * tasks, the server's CPU (/proc/<pid>/stat) is read over a window in which nothing is queued.
 * With no tasks per round (row 7b's yardstick, bare Fastify's /long-poll) only the windows.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpuTimes, median, percentile, postForm, sleep } from './support';

export interface PickupJob {
  kind: 'pickup';
  base: string;
  apiKey: string;
  applicationId: number;
  agentKeys: string[];
  serverPid: number;
  /** Each poll's waitSeconds; the agents start one after another over this time, so that their
   * waits run out at a steady rate from the start. */
  waitSeconds: number;
  rounds: number;
  /** 0: idle windows only (row 7b's yardstick, which queues nothing). */
  tasksPerRound: number;
  /** Where the agents poll and where their waiters are counted, when not scanqueue's (`base`). */
  pollUrl?: string;
  metricsUrl?: string;
  idleSeconds: number;
}

export interface IdleWindow {
  seconds: number;
  /** Server CPU (user + system) over the window, % of one core. */
  serverCpuPercent: number;
  /** The part of it spent in the kernel (system calls: the sockets' reads and writes). */
  serverSystemCpuPercent: number;
  /** Polls answered "No task found." per second in the window (waits that ran out). */
  repollsPerSecond: number;
  /** scanqueue_poll_waiters scraped just before and just after the window. */
  waitersBefore: number;
  waitersAfter: number;
}

export interface PickupResult {
  agents: number;
  waitSeconds: number;
  tasks: number;
  /** From sending queueScan to the waiting agent's answer (answer time - queue time). */
  pickupMs: { p50: number; p99: number; max: number };
  /** queueScan's own round trip (part of each pickup). */
  queueScanP50Ms: number;
  /** Each task and when its agent had the answer (ms since the epoch; the task's created_at is
   * the database's queue time, on the same machine's clock). */
  answers: { taskId: number; atEpochMs: number }[];
  idle: IdleWindow[];
  /** Median over the idle windows. */
  idleCpuPercent: number;
  /** Polls answered before half their wait without a task (the server did not let them wait). */
  earlyAnswers: number;
  /** Polls that failed (connection reset, non-200), each retried by its agent after 1 s. */
  failedPolls: number;
  firstFailure?: string;
  /** scanqueue_poll_waiters when the measuring began (all agents started, up to a minute more). */
  waitingAtStart: number;
  /** X-Scanqueue-Poll-Interval of the answers "No task found." (the agents re-poll at once). */
  pacingSeconds: string[];
  openFilesLimits: { loadgen: number; server: number };
}

/** Row 7b's yardstick: the same fleet's idle windows on bare Fastify (or why it could not run). */
export type BarePolls =
  | Pick<
      PickupResult,
      'idle' | 'idleCpuPercent' | 'failedPolls' | 'firstFailure' | 'waitingAtStart'
    >
  | { error: string };

/** The soft limit on open files of a process (sockets count). */
function openFilesLimit(pid: number | 'self'): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1] ?? '0';
  return soft === 'unlimited' ? Infinity : Number(soft);
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const round2 = (n: number) => +n.toFixed(2);

export async function pickup(job: PickupJob): Promise<PickupResult> {
  const n = job.agentKeys.length;
  const limits = { loadgen: openFilesLimit('self'), server: openFilesLimit(job.serverPid) };
  // One socket per agent on each side, plus the processes' own files.
  for (const [side, limit] of Object.entries(limits)) {
    if (limit < n + 500)
      throw new Error(
        `${side}: ulimit -n is ${limit}, ${n} waiting agents need at least ${n + 500}`,
      );
  }
  const http = new Agent({ keepAlive: true, maxSockets: n + 10, maxFreeSockets: n + 10 });
  const control = new Agent({ keepAlive: true, maxSockets: 2 });
  const url = job.pollUrl ?? `${job.base}/tasks/requestTask`;
  const metricsUrl = job.metricsUrl ?? job.base.replace(/\/rest\/latest$/, '/metrics');
  const headers = { authorization: `APIKEY ${job.apiKey}` };

  let stopping = false;
  let failure: Error | undefined;
  const fail = (error: unknown) => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    stopping = true;
  };
  // An overloaded server resets or refuses polls: counted, and the agent polls again after 1 s.
  let failedPolls = 0;
  let firstFailure: string | undefined;
  const failedPoll = async (what: string) => {
    failedPolls++;
    firstFailure ??= what;
    await sleep(1000);
  };
  let noTaskAnswers = 0;
  let earlyAnswers = 0;
  const pacing = new Set<string>();
  /** Resolved by the agent that gets the task queued now. */
  let onTask: ((taskId: number) => void) | undefined;

  const agent = async (i: number): Promise<void> => {
    const wait = job.waitSeconds;
    let polls = 0;
    while (!stopping) {
      const body = new URLSearchParams({
        scanners: 'zap',
        agentConfig: 'bench',
        scanAgentSecureKey: job.agentKeys[i],
        waitSeconds: String(wait),
      }).toString();
      const sent = process.hrtime.bigint();
      let res: Awaited<ReturnType<typeof postForm>>;
      try {
        res = await postForm(http, url, headers, body);
      } catch (error) {
        if (stopping) return;
        const how = `${ms(sent).toFixed(0)} ms into a ${wait} s wait, poll ${polls + 1}`;
        await failedPoll(`agent ${i}, ${how}: ${String(error)}`);
        continue;
      }
      polls++;
      const answer = JSON.parse(res.text) as {
        success: boolean;
        message: string;
        object?: { taskId: number };
      };
      if (answer.success && answer.object) {
        if (!onTask) fail(new Error(`task ${answer.object.taskId} claimed while none was queued`));
        else onTask(answer.object.taskId);
      } else if (res.status === 200 && answer.message === 'No task found.') {
        noTaskAnswers++;
        if (ms(sent) < (wait * 1000) / 2) earlyAnswers++;
        pacing.add(String(res.headers['x-scanqueue-poll-interval']));
      } else if (!stopping) {
        await failedPoll(`requestTask: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
  };

  const waiters = async (): Promise<number> => {
    const res = await fetch(metricsUrl);
    const line = /^scanqueue_poll_waiters (\S+)$/m.exec(await res.text());
    return Number(line?.[1] ?? NaN);
  };

  const agents: Promise<void>[] = [];
  try {
    // Start the agents over one wait, in steps of 50 ms.
    const steps = Math.max(1, Math.round(job.waitSeconds * 20));
    for (let step = 0; step < steps && !stopping; step++) {
      for (let i = Math.floor((step * n) / steps); i < Math.floor(((step + 1) * n) / steps); i++)
        agents.push(agent(i));
      await sleep(50);
    }
    // Until (nearly) all wait on the server (a few are always between two polls), or a minute: an
    // overloaded server may never get there, and the report says how many waited.
    const settled = Date.now() + 60_000;
    let waitingAtStart = await waiters();
    while (!stopping && waitingAtStart < n * 0.99 && Date.now() < settled) {
      await sleep(500);
      waitingAtStart = await waiters();
    }

    const latencies: number[] = [];
    const queueScans: number[] = [];
    const answers: PickupResult['answers'] = [];
    const idle: IdleWindow[] = [];
    for (let round = 0; round < job.rounds && !stopping; round++) {
      for (let t = 0; t < job.tasksPerRound && !stopping; t++) {
        const sent = process.hrtime.bigint();
        const picked = new Promise<{ taskId: number; ms: number }>((resolve, reject) => {
          const timer = setTimeout(() => {
            const state = `${queueScanAnswered ? 'queueScan answered' : 'queueScan unanswered'}, ${waitingAtStart} waited at the start, ${failedPolls} polls failed (first: ${firstFailure ?? 'none'})`;
            reject(
              new Error(`task ${t + 1} of round ${round + 1}: no agent got it in 60 s; ${state}`),
            );
          }, 60_000);
          onTask = (taskId) => {
            clearTimeout(timer);
            answers.push({ taskId, atEpochMs: performance.timeOrigin + performance.now() });
            resolve({ taskId, ms: ms(sent) });
          };
        });
        const form = new URLSearchParams({
          applicationId: String(job.applicationId),
          scannerType: 'zap',
        }).toString();
        let queueScanAnswered = false;
        const queued = postForm(control, `${job.base}/tasks/queueScan`, headers, form).then(
          (res) => {
            queueScanAnswered = true;
            return { res, ms: ms(sent) };
          },
        );
        const [got, { res, ms: queueMs }] = await Promise.all([picked, queued]);
        onTask = undefined;
        const { id } = (JSON.parse(res.text) as { object: { id: number } }).object;
        if (got.taskId !== id) throw new Error(`queued task ${id}, an agent got ${got.taskId}`);
        latencies.push(got.ms);
        queueScans.push(queueMs);
        await sleep(20 + Math.random() * 30);
      }
      // Nothing queued: the agents wait, and re-poll as their waits run out.
      await sleep(1000);
      const waitersBefore = await waiters();
      const cpu0 = cpuTimes(job.serverPid);
      const polls0 = noTaskAnswers;
      const t0 = process.hrtime.bigint();
      await sleep(job.idleSeconds * 1000);
      const seconds = ms(t0) / 1000;
      const cpu1 = cpuTimes(job.serverPid);
      const system = cpu1.system - cpu0.system;
      const cpu = cpu1.user - cpu0.user + system;
      const repolls = noTaskAnswers - polls0;
      idle.push({
        seconds: round2(seconds),
        serverCpuPercent: round2((cpu / seconds) * 100),
        serverSystemCpuPercent: round2((system / seconds) * 100),
        repollsPerSecond: round2(repolls / seconds),
        waitersBefore,
        waitersAfter: await waiters(),
      });
    }
    if (failure) throw failure;
    latencies.sort((a, b) => a - b);
    return {
      agents: n,
      waitSeconds: job.waitSeconds,
      tasks: latencies.length,
      pickupMs: {
        p50: round2(median(latencies)),
        p99: round2(percentile(latencies, 99)),
        max: latencies.length ? round2(latencies[latencies.length - 1]) : NaN,
      },
      queueScanP50Ms: round2(median(queueScans)),
      answers,
      idle,
      idleCpuPercent: round2(median(idle.map((w) => w.serverCpuPercent))),
      earlyAnswers,
      failedPolls,
      firstFailure,
      waitingAtStart,
      pacingSeconds: [...pacing].sort(),
      openFilesLimits: limits,
    };
  } finally {
    stopping = true;
    http.destroy();
    control.destroy();
    await Promise.all(agents);
  }
}

/**
 * The agent loop: an agent key, then poll requestTask (a long poll: the server holds it until a
 * task is queued; between polls the wait the server asks for, jittered and bounded, or backoff
 * with jitter while the server is unreachable or sends no pacing), run the scanner command for
 * each task while reporting progress, and finish the task with completeTask or failTask. stop()
 * (on a signal) ends the loop, abandoning a poll still waiting; a running scan is killed and its
 * task failed, so it does not wait for the server's timeout.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { platform } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentTask } from '@scanqueue/wire';
import { AgentConfig, ENVIRONMENT, CONFIG_FILE_VARIABLE, ScannerCommand } from './agent-config';
import { AgentLog } from './agent-log';
import { Backoff } from './backoff';
import { pacedDelayMs } from './pacing';
import { fillPlaceholders, RunResult, ScannerRun } from './scanner-run';
import {
  describe,
  isCleartextRemote,
  PollAbandoned,
  PollAnswer,
  RefusedError,
  TaskKeys,
  ThreadFixClient,
  TransientError,
} from './threadfix-client';
import { UploadProgress } from './upload-progress';
import { AGENT_VERSION } from './version';

/** Exit codes of the CLI (documented in docs/agent-cli.md). */
export const EXIT = { OK: 0, FAILURE: 1, CONFIG: 2, REFUSED: 3 } as const;

export const AGENT_STOPPED = 'agent stopped';
const UPLOAD_ATTEMPTS = 3;
const FAIL_ATTEMPTS = 3;

/** The server refused the agent itself (API key or agent key): polling on cannot succeed. */
class AgentRefused extends Error {}

export class Agent {
  private readonly client: ThreadFixClient;
  private readonly backoff: Backoff;
  private readonly scanners = new Map<string, ScannerCommand>();
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private readonly uploadAbort = new AbortController();
  private currentRun?: ScannerRun;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: AgentLog,
    private readonly options: {
      /** Draw a progress bar on stdout (it is a terminal). */
      progressOnTerminal: boolean;
      /** The agent's environment, passed on to scanners minus the agent's own settings. */
      environment: NodeJS.ProcessEnv;
    },
  ) {
    this.client = new ThreadFixClient(config.serverUrl, config.apiVersion, config.apiKey);
    this.backoff = new Backoff(
      config.pollIntervalMinSeconds * 1000,
      config.pollIntervalMaxSeconds * 1000,
    );
    for (const entry of config.scanners) this.scanners.set(entry.scanner.shortName, entry);
    log.secret(config.apiKey);
  }

  /**
   * First call: stop polling and kill a running scan (its task is failed with "agent stopped").
   * An upload in progress is let finish, since the scan is done; a second call aborts it too.
   */
  stop(reason: string): void {
    if (this.stopping) {
      this.log.warn(`${reason} again: aborting the upload in progress`);
      this.uploadAbort.abort();
      return;
    }
    this.stopping = true;
    this.log.info(`${reason}: stopping`);
    this.stopSignal.abort();
    void this.currentRun?.kill(AGENT_STOPPED, this.config.killGraceSeconds * 1000);
  }

  async run(): Promise<number> {
    if (isCleartextRemote(this.config.serverUrl))
      this.log.warn(
        `serverUrl ${this.config.serverUrl} is plain http:// to another machine: the API key, agent and task keys and the reports cross the network unencrypted; use https://`,
      );
    try {
      const agentKey = await this.untilAnswered('requestScanAgentKey', () =>
        this.client.requestScanAgentKey(),
      );
      if (agentKey === undefined) return EXIT.OK;
      this.log.secret(agentKey);
      const names = this.config.scanners.map((entry) => entry.scanner.displayName);
      const polling = this.config.pollWaitSeconds
        ? `long polls of ${this.config.pollWaitSeconds}s`
        : 'plain polls';
      this.log.info(
        `agent ${this.config.agentName} ready: ${this.config.serverUrl}, scanners ${names.join(', ')}, ${polling}`,
      );
      await this.pollLoop(agentKey, names);
      this.log.info('stopped');
      return EXIT.OK;
    } catch (error) {
      if (error instanceof AgentRefused) {
        this.log.error(error.message);
        return EXIT.REFUSED;
      }
      this.log.error(`unexpected error: ${describe(error)}`);
      return EXIT.FAILURE;
    }
  }

  private async pollLoop(agentKey: string, scanners: string[]): Promise<void> {
    const agentConfig = [
      `agent.name=${this.config.agentName}`,
      'agent.software=scanqueue-agent',
      `agent.version=${AGENT_VERSION}`,
      `os.name=${platform()}`,
      `scanners=${scanners.join(',')}`,
    ].join('\n');
    let lastWasEmpty = false;
    let paceless = false;
    while (!this.stopping) {
      let answer: PollAnswer;
      try {
        answer = await this.client.requestTask(agentKey, scanners, agentConfig, {
          waitSeconds: this.config.pollWaitSeconds,
          // stop() gives up a poll still waiting for its answer; one already answering (the
          // server may have claimed a task for us) is read, and its task failed by handleTask.
          abandon: this.stopSignal.signal,
        });
      } catch (error) {
        if (error instanceof PollAbandoned) break;
        if (error instanceof RefusedError) throw this.refused('requestTask', error);
        await this.wait(`requestTask failed (${describe(error)})`, error);
        continue;
      }
      const { task, pollIntervalSeconds } = answer;
      if (task) {
        lastWasEmpty = false;
        this.backoff.reset();
        await this.handleTask(task, agentKey);
        // (scanqueue asks for 0 after a task; honoured all the same.)
        if (pollIntervalSeconds) await this.pace('next poll', pollIntervalSeconds);
        continue;
      }
      // Like ThreadFix's agent, only the first of a run of empty polls is worth an info line…
      if (!lastWasEmpty) this.log.info('no task available');
      lastWasEmpty = true;
      if (pollIntervalSeconds === undefined) {
        // An older scanqueue or ThreadFix itself: no pacing, and no wait either (it answered at once).
        if (!paceless)
          this.log.info(
            'the server sends no X-Scanqueue-Poll-Interval: pacing polls by backoff (pollIntervalMinSeconds…pollIntervalMaxSeconds)',
          );
        paceless = true;
        // …but the waits are always logged, so an operator (and the tests) can see the backoff.
        await this.wait('no task', undefined);
        continue;
      }
      this.backoff.reset();
      await this.pace('no task', pollIntervalSeconds);
    }
  }

  /** Waits as long as the server asked (X-Scanqueue-Poll-Interval), jittered, within the ceiling. */
  private async pace(why: string, intervalSeconds: number): Promise<void> {
    const ceiling = this.config.pollIntervalMaxSeconds;
    const delayMs = pacedDelayMs(intervalSeconds, ceiling);
    const cut = intervalSeconds > ceiling ? `, cut to pollIntervalMaxSeconds ${ceiling}s` : '';
    this.log.info(
      `${why}; next poll in ${(delayMs / 1000).toFixed(2)}s (server interval ${intervalSeconds}s${cut})`,
    );
    await sleep(delayMs, undefined, { signal: this.stopSignal.signal }).catch(() => undefined);
  }

  /** Retries a call until it answers (backoff on transient errors); undefined if stopped first. */
  private async untilAnswered<T>(
    operation: string,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    while (!this.stopping) {
      try {
        const result = await call();
        this.backoff.reset();
        return result;
      } catch (error) {
        if (error instanceof RefusedError) throw this.refused(operation, error);
        await this.wait(`${operation} failed (${describe(error)})`, error);
      }
    }
    return undefined;
  }

  private refused(operation: string, error: RefusedError): AgentRefused {
    const hint = error.isAuth
      ? ' — check apiKey: it must be active, unrestricted and hold CAN_RUN_SCAN_AGENT (or the agent key was revoked, or issued to another API key)'
      : '';
    return new AgentRefused(`${operation} refused by the server: ${error.message}${hint}`);
  }

  private async wait(why: string, error: unknown): Promise<void> {
    const step = this.backoff.next();
    // A Retry-After is honoured up to the ceiling, like the server's interval.
    const delayMs = Math.min(
      Math.max(step.delayMs, error instanceof TransientError ? (error.retryAfterMs ?? 0) : 0),
      this.config.pollIntervalMaxSeconds * 1000,
    );
    const line = `${why}; next poll in ${(delayMs / 1000).toFixed(2)}s (backoff ${step.attempt}, ceiling ${(step.ceilingMs / 1000).toFixed(2)}s)`;
    if (error) this.log.warn(line);
    else this.log.info(line);
    try {
      await sleep(delayMs, undefined, { signal: this.stopSignal.signal });
    } catch {
      // stopped while waiting
    }
  }

  private async handleTask(task: AgentTask, agentKey: string): Promise<void> {
    const keys: TaskKeys = { taskId: task.taskId, secureTaskKey: task.secureTaskKey, agentKey };
    this.log.secret(task.secureTaskKey);
    const target = withoutCredentials(task.taskConfig?.targetUrl ?? '');
    this.log.info(`task ${task.taskId}: claimed (${task.taskType}, ${target})`);
    if (this.stopping) {
      // The signal came while requestTask was in flight: hand the task back failed at once.
      await this.fail(keys, AGENT_STOPPED);
      this.log.forget(task.secureTaskKey);
      return;
    }
    const entry = [...this.scanners.values()].find(
      (candidate) =>
        candidate.scanner.displayName.toLowerCase() === task.taskType.trim().toLowerCase() ||
        candidate.scanner.shortName === task.taskType.trim().toLowerCase(),
    );
    if (!entry) {
      await this.fail(keys, `scanqueue-agent has no command for scanner ${task.taskType}`);
      this.log.forget(task.secureTaskKey);
      return;
    }
    const taskDir = path.join(this.config.workDir, `task-${task.taskId}`);
    try {
      await rm(taskDir, { recursive: true, force: true });
      await mkdir(taskDir, { recursive: true, mode: 0o700 });
      await this.runTask(task, keys, entry, taskDir);
    } catch (error) {
      this.log.error(`task ${task.taskId}: ${describe(error)}`);
      await this.fail(keys, `scanqueue-agent error: ${describe(error)}`);
    } finally {
      if (!this.config.keepWorkFiles)
        await rm(taskDir, { recursive: true, force: true }).catch(() => undefined);
      this.log.forget(task.secureTaskKey);
    }
  }

  private async runTask(
    task: AgentTask,
    keys: TaskKeys,
    entry: ScannerCommand,
    taskDir: string,
  ): Promise<void> {
    const id = task.taskId;
    const configBlob = task.taskConfig?.dataBlobs?.configFile;
    const configFile = configBlob ? path.join(taskDir, entry.configFileName) : '';
    if (configBlob) await writeFile(configFile, Buffer.from(configBlob, 'base64'), { mode: 0o600 });
    const outputFile = path.join(taskDir, entry.outputFileName);
    const values = {
      targetUrl: task.taskConfig?.targetUrl ?? '',
      configFile,
      outputFile,
      taskId: String(id),
      taskDir,
      scanner: entry.scanner.shortName,
    };
    const argv = fillPlaceholders(entry.command, values);
    const run = new ScannerRun(argv, {
      cwd: taskDir,
      env: scannerEnvironment(this.options.environment, values),
      logFile: path.join(taskDir, 'scanner.log'),
    });
    this.currentRun = run;
    // A stop() that raced the spawn: the run did not exist when it tried to kill it.
    if (this.stopping) void run.kill(AGENT_STOPPED, this.config.killGraceSeconds * 1000);
    this.log.info(`task ${id}: started ${path.basename(argv[0])} (pid ${run.pid ?? '-'})`);

    const started = Date.now();
    const grace = this.config.killGraceSeconds * 1000;
    let abandoned = false;
    let scanOver = false;
    const abandon = (error: unknown) => {
      // An update still in flight when the scan ended says nothing about the scan any more.
      if (scanOver) return;
      if (error instanceof RefusedError) {
        // 409: cancelled or timed out on the server; 403/404: the task is no longer ours.
        if (!abandoned)
          this.log.warn(`task ${id}: server says ${error.message}; stopping the scan`);
        abandoned = true;
        void run.kill('task no longer open on the server', grace);
      } else {
        this.log.warn(`task ${id}: status update failed (${describe(error)}); scan continues`);
      }
    };
    this.client
      .taskStatusUpdate(keys, `Scan started by scanqueue-agent ${this.config.agentName}`)
      .catch(abandon);
    let updating = false;
    const status = setInterval(() => {
      // A slow server gets one update at a time, not a pile of them.
      if (updating) return;
      updating = true;
      const seconds = Math.round((Date.now() - started) / 1000);
      this.client
        .taskStatusUpdate(keys, `Scan running for ${seconds}s`)
        .catch(abandon)
        .finally(() => (updating = false));
    }, this.config.statusIntervalSeconds * 1000);
    const timeout = entry.timeoutSeconds
      ? setTimeout(
          () => void run.kill(`scan timed out after ${entry.timeoutSeconds}s`, grace),
          entry.timeoutSeconds * 1000,
        )
      : undefined;
    let result: RunResult;
    try {
      result = await run.done;
    } finally {
      scanOver = true;
      clearInterval(status);
      clearTimeout(timeout);
      this.currentRun = undefined;
    }
    const took = `${((Date.now() - started) / 1000).toFixed(1)}s`;
    if (abandoned) {
      // Nothing to report: the server refuses any further call on this task.
      this.log.info(`task ${id}: scan stopped after ${took}; moving on`);
      return;
    }
    await this.finish(keys, result, outputFile, took);
  }

  private async finish(
    keys: TaskKeys,
    result: RunResult,
    outputFile: string,
    took: string,
  ): Promise<void> {
    const id = keys.taskId;
    if (result.killedBecause) {
      this.log.warn(`task ${id}: scan killed after ${took}: ${result.killedBecause}`);
      await this.fail(keys, withTail(result.killedBecause, result.stderrTail));
      return;
    }
    if (result.startError) {
      await this.fail(keys, `Scan command could not start: ${result.startError.message}`);
      return;
    }
    if (result.code !== 0) {
      const how = result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.code}`;
      this.log.warn(`task ${id}: scan command ${how} after ${took}`);
      await this.fail(keys, withTail(`Scan command ${how}`, result.stderrTail));
      return;
    }
    if (!existsSync(outputFile) || !(await stat(outputFile)).isFile()) {
      this.log.warn(`task ${id}: scan command exited 0 after ${took} but wrote no result file`);
      await this.fail(
        keys,
        withTail(
          `Scan command exited 0 but wrote no result file (${path.basename(outputFile)})`,
          result.stderrTail,
        ),
      );
      return;
    }
    this.log.info(`task ${id}: scan finished after ${took}`);
    await this.upload(keys, outputFile);
  }

  private async upload(keys: TaskKeys, file: string): Promise<void> {
    const id = keys.taskId;
    const { size } = await stat(file);
    this.client
      .taskStatusUpdate(keys, `Scan finished; uploading the result (${size} bytes)`)
      .catch(() => undefined);
    for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
      this.log.info(`task ${id}: uploading ${path.basename(file)} (${size} bytes)`);
      const progress = new UploadProgress(
        this.log,
        `task ${id}`,
        size,
        this.options.progressOnTerminal,
      );
      const started = Date.now();
      try {
        await this.client.completeTask(
          keys,
          file,
          (sent, total) => progress.update(sent, total),
          this.uploadAbort.signal,
        );
        progress.stop();
        const seconds = (Date.now() - started) / 1000;
        this.log.info(`task ${id}: completed (${size} bytes uploaded in ${seconds.toFixed(1)}s)`);
        return;
      } catch (error) {
        progress.stop();
        if (this.uploadAbort.signal.aborted) {
          this.log.warn(`task ${id}: upload aborted`);
          await this.fail(keys, AGENT_STOPPED);
          return;
        }
        if (error instanceof RefusedError) {
          if (error.isConflict) {
            this.log.warn(
              `task ${id}: result refused, the task is no longer open: ${error.message}`,
            );
            return;
          }
          // 422 (not a valid report of this scanner), 413 (too large), …: a retry sends the same bytes.
          this.log.warn(`task ${id}: result refused: ${error.message}`);
          await this.fail(keys, `Result file refused by the server: ${error.serverMessage}`);
          return;
        }
        this.log.warn(`task ${id}: upload attempt ${attempt} failed (${describe(error)})`);
        if (attempt < UPLOAD_ATTEMPTS) await this.pause(attempt);
      }
    }
    this.log.error(
      `task ${id}: upload failed ${UPLOAD_ATTEMPTS} times; the server will time the task out`,
    );
  }

  /** failTask, retried on transient errors; a refusal (409: already over) only gets logged. */
  private async fail(keys: TaskKeys, message: string): Promise<void> {
    for (let attempt = 1; attempt <= FAIL_ATTEMPTS; attempt++) {
      try {
        await this.client.failTask(keys, message);
        // The first line only: the stderr tail is for the task's history, not the agent's log.
        const summary = message.split('\n', 1)[0].slice(0, 300);
        this.log.info(`task ${keys.taskId}: failed (${summary})`);
        return;
      } catch (error) {
        if (error instanceof RefusedError) {
          this.log.warn(`task ${keys.taskId}: failTask refused: ${error.message}`);
          return;
        }
        this.log.warn(
          `task ${keys.taskId}: failTask attempt ${attempt} failed (${describe(error)})`,
        );
        if (attempt < FAIL_ATTEMPTS) await this.pause(attempt);
      }
    }
  }

  /** A short pause between retries of one call; cut short by stop() so shutdown stays quick. */
  private async pause(attempt: number): Promise<void> {
    const delayMs = Math.min(
      this.config.pollIntervalMaxSeconds * 1000,
      this.config.pollIntervalMinSeconds * 1000 * 2 ** attempt,
    );
    await sleep(delayMs * (0.5 + Math.random() / 2), undefined, {
      signal: this.stopping ? AbortSignal.timeout(1000) : this.stopSignal.signal,
    }).catch(() => undefined);
  }
}

/** A target URL for the log: credentials in it (http://user:pass@host/) are the scanner's, not the log's. */
function withoutCredentials(target: string): string {
  try {
    const url = new URL(target);
    if (!url.username && !url.password) return target;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return target;
  }
}

/** The message for failTask: what happened, then the scanner's last words. */
function withTail(what: string, stderrTail: string): string {
  const tail = stderrTail.trim();
  return tail ? `${what}. End of its stderr:\n${tail}` : what;
}

/**
 * The scanner gets the agent's environment without the agent's own settings (the API key above
 * all: a scanner, or a plug-in it loads, has no business with it), plus the task's values.
 */
function scannerEnvironment(
  agentEnvironment: NodeJS.ProcessEnv,
  values: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const agentOwn = new Set([...Object.values(ENVIRONMENT), CONFIG_FILE_VARIABLE]);
  for (const [name, value] of Object.entries(agentEnvironment))
    if (!agentOwn.has(name) && !name.startsWith('SCANQUEUE_AGENT_')) env[name] = value;
  env.SCANQUEUE_TASK_ID = values.taskId;
  env.SCANQUEUE_TARGET_URL = values.targetUrl;
  env.SCANQUEUE_CONFIG_FILE = values.configFile;
  env.SCANQUEUE_OUTPUT_FILE = values.outputFile;
  env.SCANQUEUE_TASK_DIR = values.taskDir;
  env.SCANQUEUE_SCANNER = values.scanner;
  return env;
}

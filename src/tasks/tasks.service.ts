/**
 * The scan-agent protocol (ThreadFix's Tasks API) but its result upload (task-results.service.ts):
 * queueing, claiming, progress and failure. One use case = one method = one transaction; every
 * status change goes through TaskTransitionsRepository.
 */
import { Injectable } from '@nestjs/common';
import { isURL } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { generateSecretKey, hashSecretKey } from '../auth/secret-keys';
import { AppConfig } from '../config/app-config';
import { stopwatch } from '../observability/metrics.service';
import { BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { HTTP_URL_RULES } from '../rest/param-rules';
import { resolveScanner, SCAN_AGENT_SCANNERS, ScannerType } from '../scans/scanner-types';
import { ScanAgentsService, UNKNOWN_AGENT_KEY } from '../scan-agents/scan-agents.service';
import {
  FailTaskParams,
  QueueScanParams,
  RequestTaskParams,
  TaskStatusUpdateParams,
} from './task-params.dto';
import { StatusMessageTooLong, TaskStateConflict, TooManyStatusMessages } from './task-errors';
import {
  AgentTaskJson,
  TaskView,
  ThreadFixTaskJson,
  toAgentTask,
  toThreadFixTask,
} from './task-json.mapper';
import { ClaimBatcher } from './claim-batcher';
import { Actor, TaskTransitionsRepository } from './task-transitions.repository';
import { TaskStatus } from './task-status';
import { TasksRepository } from './tasks.repository';
import { ScanConfigRow } from './task-rows';
import { TargetUrlPolicy } from './target-url-policy';
import { agentActor, TaskAccess } from './task-access';
import { at, badScannerType, failureReason, STATUS_UPDATED } from './task-wording';
import { claimOutcome, TaskMetrics } from './task-metrics';
import { RetryPolicies, RetryPolicy } from './retry-policy';
import { WakeupsService } from '../wakeups/wakeups.service';
import type { Departure, Wait } from '../wakeups/waiters';
import { Poll, pollOf } from './task-poll';
import { andThen, MaybePromise } from '../async/maybe-promise';

/** requestTask's answer: a task, or none ("No task found."), and when to poll next (pacing). */
export interface PollAnswer {
  task?: AgentTaskJson;
  pollIntervalSeconds: number;
}

/** One task to queue: what queueScan's parameters and a schedule both come down to. */
export interface QueueTaskRequest {
  /** The teams whose applications the requester may queue for. */
  scope: TeamScope;
  applicationId: number;
  scanner: ScannerType;
  targetUrl: string | null;
  scanConfigId: number | null;
  timeoutSeconds: number;
  /** The history row's message. */
  message: string;
  actor: Actor;
  /** -100..100, higher claimed first; default 0. */
  priority?: number;
  /** Overrides of the scanner's TASK_RETRY_POLICY. */
  retry?: Partial<RetryPolicy>;
}

@Injectable()
export class TasksService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly agents: ScanAgentsService,
    private readonly access: TaskAccess,
    private readonly tasks: TasksRepository,
    private readonly transitions: TaskTransitionsRepository,
    private readonly metrics: TaskMetrics,
    private readonly targets: TargetUrlPolicy,
    private readonly retryPolicies: RetryPolicies,
    private readonly wakeups: WakeupsService,
    private readonly claims: ClaimBatcher,
  ) {}

  requestScanAgentKey(caller: AuthenticatedCaller): Promise<string> {
    return this.agents.issueKey(caller.apiKeyId);
  }

  scanners(): { shortName: string; displayName: string }[] {
    return SCAN_AGENT_SCANNERS.map(({ shortName, displayName }) => ({ shortName, displayName }));
  }

  async queueScan(
    caller: AuthenticatedCaller,
    params: QueueScanParams,
  ): Promise<ThreadFixTaskJson> {
    const scanner = resolveScanner(params.scannerType);
    if (!scanner) throw badScannerType(params.scannerType);
    // No BEGIN/COMMIT: the one write is one statement (task, history row and event at once), and
    // the reads before it only check the request, as they would inside a transaction (nothing is
    // locked). Two round trips fewer before a waiting agent can be woken.
    const queued = await this.queueTask(this.dataSource.manager, {
      scope: caller,
      applicationId: params.applicationId,
      scanner,
      targetUrl: params.targetUrl ?? params.targetURL ?? null,
      scanConfigId: params.scanConfigId ?? null,
      timeoutSeconds: params.timeoutSeconds ?? this.config.TASK_TIMEOUT_SECONDS,
      message: `Scan queued at: ${at()}`,
      actor: { type: 'api_key', id: caller.apiKeyId },
      priority: params.priority,
      retry: {
        limit: params.retryLimit,
        delaySeconds: params.retryDelaySeconds,
        backoff: params.retryBackoff,
      },
    });
    // Committed: a poll this caller sends next must not hear a "nothing queued" its NOTIFY has
    // yet to clear (that comes within milliseconds, and wakes the waiter).
    this.wakeups.queuedHere(scanner.displayName);
    return toThreadFixTask(queued);
  }

  /**
   * Queues one task, in the caller's transaction if any (a schedule's firing; queueScan has none):
   * the application active and in the scope, the config the application's and the scanner's, and
   * a target URL the policy accepts. Answers the new task's view, from what it read and inserted.
   */
  async queueTask(tx: EntityManager, request: QueueTaskRequest): Promise<TaskView> {
    const { scanner, targetUrl } = request;
    const app = await this.access.activeApplication(tx, request.applicationId, request.scope);
    let config: ScanConfigRow | null = null;
    if (request.scanConfigId !== null) {
      const found = await this.tasks.findScanConfig(tx, request.scanConfigId);
      if (!found || found.application_id !== app.id) {
        throw new NotFound(
          `Scan config ${request.scanConfigId} was not found for application ${app.id}.`,
        );
      }
      if (found.scanner_short_name !== scanner.shortName) {
        throw new BadRestParameter(
          `Scan config ${found.id} is for ${found.scanner_short_name}, not ${scanner.shortName}.`,
        );
      }
      config = found;
    }
    // ThreadFix let such a task block its scanner's queue at claim time; refuse it up front.
    if (!targetUrl && !(app.url && isURL(app.url, HTTP_URL_RULES))) {
      throw new BadRestParameter(`URL for application ${app.id} needs to be set.`);
    }
    // The effective target, as the agent will get it: the task's own, else the application's.
    this.targets.check(
      targetUrl ?? (app.url as string),
      targetUrl ? 'targetUrl' : `the URL of application ${app.id}`,
    );
    const { task, status } = await this.transitions.insertQueuedTask(
      tx,
      {
        applicationId: app.id,
        scanner: scanner.displayName,
        timeoutSeconds: request.timeoutSeconds,
        targetUrl,
        scanConfigId: request.scanConfigId,
        priority: request.priority ?? 0,
        retry: this.retryPolicies.resolve(scanner, request.retry),
      },
      request.message,
      request.actor,
    );
    return { task, statuses: [status], scanConfig: config, applicationUrl: app.url ?? null };
  }

  /**
   * requestTask, long-polled when the agent asks for a wait (`waitSeconds`, cut to
   * POLL_WAIT_MAX_SECONDS): with nothing claimable the poll waits holding no database connection
   * and claims again when Wakeups says a task of its scanners was queued. The wait is registered
   * BEFORE each claim, so a task queued between the claim and the wait still wakes it. Without a
   * wait, one look, answered at once (ThreadFix's clients); when that look needs no database (a
   * known agent, its scanners known empty), with no promise made: an idle fleet's every poll, and
   * each promise runs the request context's async hooks (src/edge/request-edge.ts).
   */
  requestTask(
    caller: AuthenticatedCaller,
    params: RequestTaskParams,
    departure?: Departure,
  ): MaybePromise<PollAnswer> {
    const poll = pollOf(caller, params);
    const waitMs = this.wakeups.waitMs(params.waitSeconds ?? 0);
    if (waitMs > 0) return this.waitForTask(poll, waitMs, departure);
    return andThen(this.pollOnce(poll), (found) => found ?? this.emptyAnswer());
  }

  /** "No task found." at once: the agent waits POLL_INTERVAL_SECONDS before its next poll. */
  private emptyAnswer(): PollAnswer {
    return { pollIntervalSeconds: this.config.POLL_INTERVAL_SECONDS };
  }

  /** A long poll: looks, then waits for a wake-up and looks again, until a task or the deadline. */
  private async waitForTask(
    poll: Poll,
    waitMs: number,
    departure?: Departure,
  ): Promise<PollAnswer> {
    let woken: Wait | undefined;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const wait = this.wakeups.register(poll.names, Math.max(0, deadline - Date.now()), departure);
      let answer: PollAnswer | undefined;
      try {
        answer = await this.pollOnce(poll);
      } catch (error) {
        wait.settle('skipped');
        woken?.settle('skipped');
        throw error;
      }
      woken?.settle(answer ? 'claimed' : 'empty');
      woken = undefined;
      if (answer) {
        wait.settle('claimed');
        return answer;
      }
      const outcome = await wait.outcome;
      if (outcome === 'busy')
        return { pollIntervalSeconds: this.config.POLL_BUSY_INTERVAL_SECONDS };
      // A wait that ran its whole time already spaced the polls: the next one may start at
      // once, so a long-polling agent is always listening (GitLab's runners do the same).
      if (outcome === 'timeout') return { pollIntervalSeconds: 0 };
      if (outcome !== 'woken' || Date.now() >= deadline) {
        if (outcome === 'woken') wait.settle('skipped');
        return this.emptyAnswer();
      }
      woken = wait;
    }
  }

  /**
   * One poll's look for a task: none, with no database round trip, when its agent key is known
   * here (a recent claim confirmed it) and every scanner it asks for is known empty within its
   * key's scope (the notifications keep that fresh); else a claim, whose finding nothing marks
   * them empty for the next polls. The heartbeat is recorded either way (a write only when due).
   */
  private pollOnce(poll: Poll): MaybePromise<PollAnswer | undefined> {
    const known = this.agents.knownAgent(poll.agentKeyHash, poll.caller.apiKeyId);
    if (known && this.wakeups.knownEmpty(poll.names, poll.scope))
      return andThen(this.recordSeen(poll, known.agentId), () => undefined);
    return this.claimAndMark(poll);
  }

  private async claimAndMark(poll: Poll): Promise<PollAnswer | undefined> {
    const snapshot = this.wakeups.snapshot();
    const { answer, agentPaused } = await this.claimOnce(poll);
    // A paused agent's claim saw tasks it could not take: it proves no queue empty.
    if (!answer && !agentPaused) this.wakeups.markEmpty(poll.names, snapshot, poll.scope);
    return answer;
  }

  private recordSeen(poll: Poll, agentId: number): MaybePromise<void> {
    return this.agents.recordSeen(
      this.dataSource.manager,
      agentId,
      poll.params.agentConfig,
      poll.shortNames,
    );
  }

  /**
   * One claim for the agent: only with the API key that issued its agent key, and only tasks of
   * that key's teams. A task whose target the policy refuses now (the application's URL or the
   * policy changed since it was queued) is failed instead of handed out. No answer: none claimable.
   */
  private async claimOnce(poll: Poll): Promise<{ answer?: PollAnswer; agentPaused: boolean }> {
    const { caller, params } = poll;
    const agentConfig = params.agentConfig ?? null;
    const secureTaskKey = generateSecretKey();
    // One statement checks the agent key and claims: an agent's poll is one round trip.
    const claimTime = stopwatch();
    const claim = await this.claims.claim({
      apiKeyId: caller.apiKeyId,
      scope: caller,
      scanners: poll.scanners,
      agentKeyHash: poll.agentKeyHash,
      secureKeyHash: hashSecretKey(secureTaskKey),
      agentInfo: agentConfig,
      message: `Assigning task to an agent with agentConfig:\n${agentConfig ?? ''}`,
    });
    this.metrics.claimObserved(claimTime(), claimOutcome(claim));
    if (claim.task) this.metrics.pickupObserved(claim.task);
    if (claim.agentId === null) throw new Forbidden(UNKNOWN_AGENT_KEY);
    const { agentPaused } = claim;
    this.agents.rememberAgent(poll.agentKeyHash, {
      agentId: claim.agentId,
      apiKeyId: caller.apiKeyId,
      paused: agentPaused,
    });
    await this.recordSeen(poll, claim.agentId);
    if (!claim.task) return { agentPaused };
    // A claimed task always has its application's URL to fall back on.
    const targetUrl = claim.task.target_url || (claim.applicationUrl ?? '');
    const refusal = this.targets.refusal(targetUrl);
    if (refusal) {
      await this.transitions.transitionTask(
        this.dataSource.manager,
        claim.task.id,
        TaskStatus.COMPLETE_FAILED,
        `Not handed out: ${refusal}`,
        { type: 'system', id: null },
      );
      this.metrics.taskFinished(TaskStatus.COMPLETE_FAILED);
      // Another task may be queued behind it: poll again at once.
      return { agentPaused, answer: { pollIntervalSeconds: 0 } };
    }
    return {
      agentPaused,
      answer: {
        pollIntervalSeconds: 0,
        task: toAgentTask(claim.task, targetUrl, claim.configFile, {
          secureTaskKey,
          scanAgentSecureKey: params.scanAgentSecureKey as string,
        }),
      },
    };
  }

  async taskStatusUpdate(
    caller: AuthenticatedCaller,
    params: TaskStatusUpdateParams,
  ): Promise<string> {
    const max = this.config.STATUS_MESSAGE_MAX_CHARS;
    if (params.message.length > max) throw new StatusMessageTooLong(params.message.length, max);
    const append = (tx: EntityManager, taskId: number) =>
      this.transitions.appendAgentStatusMessage(tx, {
        taskId,
        message: params.message,
        agentKeyHash: hashSecretKey(params.scanAgentSecureKey as string),
        taskKeyHash: hashSecretKey(params.secureTaskKey as string),
        apiKeyId: caller.apiKeyId,
        scope: caller,
        maxMessages: this.config.STATUS_MESSAGES_PER_TASK,
      });
    if (params.secureTaskKey && params.scanAgentSecureKey) {
      // The common case is one statement; only a refused call pays for finding out why.
      const { agentId, added } = await append(this.dataSource.manager, params.scanQueueTaskId);
      if (added && agentId !== null) {
        await this.agents.recordSeen(this.dataSource.manager, agentId, undefined);
        return STATUS_UPDATED;
      }
    }
    await this.dataSource.transaction(async (tx) => {
      const { task } = await this.access.verify(tx, caller, params, { lock: true });
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      if (task.status_messages >= this.config.STATUS_MESSAGES_PER_TASK)
        throw new TooManyStatusMessages(task.id, this.config.STATUS_MESSAGES_PER_TASK);
      // Every check passes now, under the row lock (the task was claimed meanwhile): append.
      if (!(await append(tx, task.id)).added) throw new TaskStateConflict(task);
    });
    return STATUS_UPDATED;
  }

  async failTask(caller: AuthenticatedCaller, params: FailTaskParams): Promise<string> {
    const message = `ScanAgent reported that the scan task: ${params.scanQueueTaskId} had failed client-side for the following reason: ${failureReason(params.message, this.config.STATUS_MESSAGE_MAX_CHARS)}`;
    return this.dataSource.transaction(async (tx) => {
      const { task, agent } = await this.access.verify(tx, caller, params, { lock: true });
      if (task.status === TaskStatus.COMPLETE_FAILED) {
        // A retried failTask (lost response): answer as the first time, change nothing.
        return (
          (await this.tasks.transitionMessage(tx, task.id, TaskStatus.COMPLETE_FAILED)) ?? message
        );
      }
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      const failed = await this.transitions.transitionTask(
        tx,
        task.id,
        TaskStatus.COMPLETE_FAILED,
        message,
        agentActor(agent),
        { retry: { reason: 'failed on its agent' } },
      );
      this.metrics.taskFinished(TaskStatus.COMPLETE_FAILED);
      if (failed?.retried_as) this.metrics.tasksRetried([task.scanner]);
      return message;
    });
  }
}

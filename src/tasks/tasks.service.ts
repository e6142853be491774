/**
 * The scan-agent protocol (ThreadFix's Tasks API) and the admin operations on tasks. One use case
 * = one method = one transaction; every status change goes through task-transitions.ts.
 */
import { Injectable, Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { isURL } from 'class-validator';
import { FastifyRequest } from 'fastify';
import { DataSource, EntityManager } from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { ApplicationNotFound } from '../applications/applications.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from '../auth/secret-keys';
import { reachesTeam, TeamScope } from '../auth/team-scope';
import { AppConfig } from '../config/app-config';
import { claimOutcome, MetricsService, stopwatch } from '../observability/metrics.service';
import { MultipartLimits, readMultipartForm, readSmallFile } from '../rest/multipart-form';
import { BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { HTTP_URL_RULES } from '../rest/param-rules';
import { mergeParams, validateParams } from '../rest/rest-params';
import { ScanFileInspection, ScannerMismatch } from '../scans/scan-file-inspector';
import { resolveScanner, SCAN_AGENT_SCANNERS, ScannerType } from '../scans/scanner-types';
import { ScanIntake, ScanIntakeSession } from '../scans/scan-upload';
import { ReleaseSlot, UploadSlots } from '../scans/upload-slots';
import {
  AgentRow,
  ScanAgentsService,
  UNKNOWN_AGENT_KEY,
  MISSING_AGENT_KEY,
} from '../scan-agents/scan-agents.service';
import {
  CompleteTaskParams,
  FailTaskParams,
  ListTasksParams,
  QueueScanParams,
  RequestTaskParams,
  SetTaskConfigParams,
  TaskHistoryParams,
  TaskKeyParams,
  TaskStatusUpdateParams,
} from './task-params.dto';
import {
  MissingTaskKey,
  NoTaskFound,
  StatusMessageTooLong,
  TaskKeyMismatch,
  TaskNotFound,
  TaskStateConflict,
  TooManyStatusMessages,
} from './task-errors';
import {
  AdminTaskDetailJson,
  AdminTaskJson,
  AgentTaskJson,
  PresentedKeys,
  TaskStatusPageJson,
  ThreadFixTaskJson,
  toAdminStatus,
  toAdminTask,
  toAdminTaskDetail,
  toAgentTask,
  toThreadFixTask,
} from './task-json.mapper';
import { TaskRow } from './task-rows';
import { Actor, TaskTransitionsRepository } from './task-transitions.repository';
import { TaskStatus } from './task-status';
import { TasksRepository } from './tasks.repository';
import { ScanConfigDto, toScanConfigDto } from './scan-config.dto';
import { TargetUrlPolicy } from './target-url-policy';

export const STATUS_UPDATED = 'Successfully updated ScanQueueTask';

/**
 * Status rows a task's JSON shows (the latest; GET tasks/{id}/statuses pages through the rest): a
 * task may hold STATUS_MESSAGES_PER_TASK of them, and no answer loads them all.
 */
export const STATUSES_SHOWN = 100;
/** A list shows each task's latest status only. */
const STATUSES_IN_LISTS = 1;
const SHOWN = { statuses: STATUSES_SHOWN };

/** Status texts keep ThreadFix's wording, with an ISO-8601 time instead of its broken pattern. */
const at = () => new Date().toISOString();

function badScannerType(name: string, suffix = ''): BadRestParameter {
  const known = SCAN_AGENT_SCANNERS.map((s) => `${s.shortName} (${s.displayName})`).join(', ');
  return new BadRestParameter(
    `Bad scanner type of: ${name} provided.${suffix} Scan agents run: ${known}.`,
  );
}

@Injectable()
export class TasksService {
  private readonly logger = new Logger(TasksService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly agents: ScanAgentsService,
    private readonly intake: ScanIntake,
    private readonly tasks: TasksRepository,
    private readonly transitions: TaskTransitionsRepository,
    private readonly metrics: MetricsService,
    private readonly targets: TargetUrlPolicy,
    private readonly uploadSlots: UploadSlots,
  ) {}

  private get uploadLimits(): MultipartLimits {
    return {
      fileSize: this.config.MAX_UPLOAD_BYTES,
      fieldSize: this.config.MAX_FIELD_BYTES,
      fields: this.config.MAX_MULTIPART_FIELDS,
      parts: this.config.MAX_MULTIPART_PARTS,
    };
  }

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
    const targetUrl = params.targetUrl ?? params.targetURL ?? null;
    return this.dataSource.transaction(async (tx) => {
      const app = await this.activeApplication(tx, params.applicationId, caller);
      if (params.scanConfigId !== undefined) {
        const config = await this.tasks.findScanConfig(tx, params.scanConfigId);
        if (!config || config.application_id !== app.id) {
          throw new NotFound(
            `Scan config ${params.scanConfigId} was not found for application ${app.id}.`,
          );
        }
        if (config.scanner_short_name !== scanner.shortName) {
          throw new BadRestParameter(
            `Scan config ${config.id} is for ${config.scanner_short_name}, not ${scanner.shortName}.`,
          );
        }
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
      const task = await this.transitions.insertQueuedTask(
        tx,
        {
          applicationId: app.id,
          scanner: scanner.displayName,
          timeoutSeconds: params.timeoutSeconds ?? this.config.TASK_TIMEOUT_SECONDS,
          targetUrl,
          scanConfigId: params.scanConfigId ?? null,
        },
        `Scan queued at: ${at()}`,
        { type: 'api_key', id: caller.apiKeyId },
      );
      return toThreadFixTask(await this.tasks.loadView(tx, task, SHOWN));
    });
  }

  /** An active application in the caller's teams; any other is missing (the same 404). */
  private async activeApplication(
    tx: EntityManager,
    id: number,
    scope: TeamScope,
  ): Promise<ApplicationEntity> {
    const app = await tx.findOneBy(ApplicationEntity, { id });
    if (!app || !app.active || !reachesTeam(scope, app.teamId)) throw new ApplicationNotFound(id);
    return app;
  }

  /** requestTask from a urlencoded form, or a multipart one whose agentConfig is a file part. */
  async requestTaskFromRequest(
    caller: AuthenticatedCaller,
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): Promise<AgentTaskJson> {
    if (!request.isMultipart())
      return this.requestTask(caller, await validateParams(RequestTaskParams, plain));
    const { fields, file } = await readMultipartForm(
      request,
      { ...this.uploadLimits, fileSize: this.config.MAX_FIELD_BYTES },
      ['agentConfig', 'files', 'file'],
      async (part) => (await readSmallFile(part.stream)).toString('utf8'),
    );
    // ThreadFix's Python client sends the agent's properties as a file part instead of a field.
    const agentConfigFile = fields.agentConfig === undefined && file !== undefined;
    return this.requestTask(
      caller,
      await validateParams(
        RequestTaskParams,
        mergeParams(plain, fields, agentConfigFile ? { agentConfig: file } : {}),
      ),
    );
  }

  /**
   * Claims for the agent: only with the API key that issued its agent key, and only tasks of that
   * key's teams. A task whose target the policy refuses now (the application's URL or the policy
   * changed since it was queued) is failed instead of handed out.
   */
  async requestTask(
    caller: AuthenticatedCaller,
    params: RequestTaskParams,
  ): Promise<AgentTaskJson> {
    if (!params.scanAgentSecureKey) throw new BadRestParameter(MISSING_AGENT_KEY);
    const scanners = [
      ...new Set(params.scanners.split(',').map((name) => resolveScanner(name))),
    ].filter((scanner): scanner is ScannerType => scanner !== undefined);
    const agentConfig = params.agentConfig ?? null;
    const secureTaskKey = generateSecretKey();
    // One statement checks the agent key and claims: an agent's poll is one round trip.
    const claimTime = stopwatch();
    const claim = await this.transitions.claimNextTask(this.dataSource.manager, {
      apiKeyId: caller.apiKeyId,
      scope: caller,
      scanners,
      agentKeyHash: hashSecretKey(params.scanAgentSecureKey),
      secureKeyHash: hashSecretKey(secureTaskKey),
      agentInfo: agentConfig,
      message: `Assigning task to an agent with agentConfig:\n${agentConfig ?? ''}`,
    });
    this.metrics.claimObserved(claimTime(), claimOutcome(claim));
    if (claim.agentId === null) throw new Forbidden(UNKNOWN_AGENT_KEY);
    await this.agents.recordSeen(this.dataSource.manager, claim.agentId, params.agentConfig);
    if (!claim.task) throw new NoTaskFound();
    const targetUrl = claim.task.target_url || (claim.applicationUrl as string);
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
      throw new NoTaskFound();
    }
    return toAgentTask(claim.task, targetUrl, claim.configFile, {
      secureTaskKey,
      scanAgentSecureKey: params.scanAgentSecureKey,
    });
  }

  /**
   * The checks every call on a claimed task makes, in order: both keys present (400), the agent
   * key issued by the calling API key and neither revoked (403), the task exists, is in the key's
   * teams and is held by this agent (404: one answer for all three, so an agent cannot probe which
   * task ids exist or whose they are), and the task key is the one issued with the claim (403).
   */
  private async verifyTaskAccess(
    tx: EntityManager,
    caller: AuthenticatedCaller,
    params: TaskKeyParams,
    options: { lock: boolean },
  ): Promise<{ task: TaskRow; agent: AgentRow; keys: PresentedKeys }> {
    if (!params.secureTaskKey) throw new MissingTaskKey();
    if (!params.scanAgentSecureKey) throw new BadRestParameter(MISSING_AGENT_KEY);
    const agent = await this.agents.authenticate(params.scanAgentSecureKey, caller.apiKeyId, tx);
    const task = await this.tasks.findTask(tx, params.scanQueueTaskId, {
      lock: options.lock,
      scope: caller,
    });
    if (!task || task.scan_agent_id !== agent.id) throw new TaskNotFound(params.scanQueueTaskId);
    if (!secretKeyMatches(params.secureTaskKey, task.secure_key_hash)) throw new TaskKeyMismatch();
    return {
      task,
      agent,
      keys: { secureTaskKey: params.secureTaskKey, scanAgentSecureKey: params.scanAgentSecureKey },
    };
  }

  private agentActor(agent: AgentRow): Actor {
    return { type: 'agent', id: agent.id };
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
      const { task } = await this.verifyTaskAccess(tx, caller, params, { lock: true });
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      if (task.status_messages >= this.config.STATUS_MESSAGES_PER_TASK)
        throw new TooManyStatusMessages(task.id, this.config.STATUS_MESSAGES_PER_TASK);
      // Every check passes now, under the row lock (the task was claimed meanwhile): append.
      if (!(await append(tx, task.id)).added) throw new TaskStateConflict(task);
    });
    return STATUS_UPDATED;
  }

  /**
   * A failure reason longer than STATUS_MESSAGE_MAX_CHARS is stored cut, not refused: refusing
   * would leave the task ASSIGNED until it times out, and a task fails once only.
   */
  private failureReason(reason: string): string {
    const max = this.config.STATUS_MESSAGE_MAX_CHARS;
    if (reason.length <= max) return reason;
    // Not inside a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(reason[max - 1]) ? max - 1 : max;
    return `${reason.slice(0, end)} [… ${reason.length - end} more characters cut]`;
  }

  async failTask(caller: AuthenticatedCaller, params: FailTaskParams): Promise<string> {
    const message = `ScanAgent reported that the scan task: ${params.scanQueueTaskId} had failed client-side for the following reason: ${this.failureReason(params.message)}`;
    return this.dataSource.transaction(async (tx) => {
      const { task, agent } = await this.verifyTaskAccess(tx, caller, params, { lock: true });
      if (task.status === TaskStatus.COMPLETE_FAILED) {
        // A retried failTask (lost response): answer as the first time, change nothing.
        return (
          (await this.tasks.transitionMessage(tx, task.id, TaskStatus.COMPLETE_FAILED)) ?? message
        );
      }
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      await this.transitions.transitionTask(
        tx,
        task.id,
        TaskStatus.COMPLETE_FAILED,
        message,
        this.agentActor(agent),
      );
      this.metrics.taskFinished(TaskStatus.COMPLETE_FAILED);
      return message;
    });
  }

  /**
   * completeTask: the file streams from the request through the inspector (SHA-256, size, scanner
   * detection, XML validation) into a temporary file (src/scans/scan-upload.ts, the path direct
   * uploads take too); the task turns COMPLETE_SUCCESSFUL only after that file is durable (fsynced
   * and renamed); one transaction then records the scan and moves the task. The upload takes a
   * slot of its API key before the body is read, and one of its agent key when that key comes
   * before the file (UploadSlots; 429 when none is free).
   */
  async completeTask(
    caller: AuthenticatedCaller,
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): Promise<ThreadFixTaskJson> {
    const uploadTime = stopwatch();
    const slots: ReleaseSlot[] = [this.uploadSlots.forApiKey(caller.apiKeyId)];
    try {
      return await this.intake.run(async (session) => {
        let sawFile = false;
        let checkedTask: TaskRow | undefined;
        const form = await readMultipartForm(
          request,
          this.intake.limits,
          ['file'],
          async (part, fieldsSoFar) => {
            sawFile = true;
            const fields = mergeParams(plain, fieldsSoFar);
            if (typeof fields.scanAgentSecureKey === 'string')
              slots.push(this.uploadSlots.forAgent(hashSecretKey(fields.scanAgentSecureKey)));
            checkedTask = await this.receiveScanFile(
              caller,
              session,
              part.stream,
              part.filename,
              fields,
            );
          },
        );
        const params = await validateParams(CompleteTaskParams, mergeParams(plain, form.fields));
        if (!sawFile) throw new BadRestParameter("Required parameter 'file' is missing.");
        // The file is made durable (fsync and rename, or S3's completion) before the task's row is
        // locked, so no lock or pooled connection waits on storage; the unlocked check of the keys
        // (done before the file when they came first) gates it. A file the locked check below then
        // refuses, or finds already stored by a repeat, is removed again (ScanIntake.run).
        const file = session.file;
        if (file) {
          const task =
            checkedTask ??
            (
              await this.dataSource.transaction((tx) =>
                this.verifyTaskAccess(tx, caller, params, { lock: false }),
              )
            ).task;
          if (task.status === TaskStatus.ASSIGNED) {
            this.checkScanner(file.inspection, task);
            await session.commit();
          }
        }
        return this.dataSource.transaction(async (tx) => {
          const { task, agent, keys } = await this.verifyTaskAccess(tx, caller, params, {
            lock: true,
          });
          // A repeat from the same agent (its first response was lost): the task as it is, nothing imported again.
          if (task.status === TaskStatus.COMPLETE_SUCCESSFUL)
            return toThreadFixTask(await this.tasks.loadView(tx, task, SHOWN), keys);
          if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
          if (!file) throw new Error('completeTask: file received without an upload');
          await session.record(tx, task.application_id, { taskId: task.id });
          const completed = await this.transitions.transitionTask(
            tx,
            task.id,
            TaskStatus.COMPLETE_SUCCESSFUL,
            `Scan completed successfully at: ${at()}`,
            this.agentActor(agent),
          );
          if (!completed) throw new TaskStateConflict(task);
          this.metrics.uploadObserved(file.inspection.sizeBytes, uploadTime());
          return toThreadFixTask(await this.tasks.loadView(tx, completed, SHOWN), keys);
        });
      });
    } finally {
      for (const release of slots) release();
    }
  }

  /**
   * Streams one uploaded file into the session's temporary upload. When the task's keys came
   * before the file (as ThreadFix's agent and `curl -F` send them) they are checked first, so a
   * refused call does not cost a full upload and a repeat is not stored again. Returns the task as
   * checked then, if it was.
   */
  private async receiveScanFile(
    caller: AuthenticatedCaller,
    session: ScanIntakeSession,
    stream: Readable,
    filename: string,
    fields: Record<string, unknown>,
  ): Promise<TaskRow | undefined> {
    let expected: ScannerType | undefined;
    let checkedTask: TaskRow | undefined;
    if (fields.scanQueueTaskId !== undefined && fields.secureTaskKey && fields.scanAgentSecureKey) {
      const params = await validateParams(CompleteTaskParams, fields);
      const { task } = await this.dataSource.transaction((tx) =>
        this.verifyTaskAccess(tx, caller, params, { lock: false }),
      );
      if (task.status === TaskStatus.COMPLETE_SUCCESSFUL) {
        // Read and dropped; finished() also settles when the body breaks off (an 'end' never comes).
        stream.resume();
        await finished(stream);
        return task;
      }
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      expected = resolveScanner(task.scanner);
      checkedTask = task;
    }
    await session.receive(stream, filename, expected);
    return checkedTask;
  }

  private checkScanner(inspection: ScanFileInspection, task: TaskRow): void {
    const expected = resolveScanner(task.scanner);
    if (
      this.config.REQUIRE_MATCHING_SCANNER &&
      expected &&
      inspection.scanner.shortName !== expected.shortName
    ) {
      throw new ScannerMismatch(inspection.scanner, expected);
    }
  }

  /**
   * setTaskConfig: replaces the application's config for the scanner (newest wins, one row, its id
   * kept). Answers ThreadFix's message, and the config's id for the response header.
   */
  async setTaskConfig(
    caller: AuthenticatedCaller,
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): Promise<{ message: string; scanConfigId: number }> {
    const { fields, file } = await readMultipartForm(
      request,
      { ...this.uploadLimits, fileSize: this.config.MAX_CONFIG_BYTES },
      ['file'],
      async (part) => ({
        content: await readSmallFile(part.stream),
        contentType: part.mimetype,
        filename: part.filename,
      }),
    );
    const params = await validateParams(SetTaskConfigParams, mergeParams(plain, fields));
    const scanner = resolveScanner(params.scannerType);
    if (!scanner) throw badScannerType(params.scannerType, ' Will not save scan config.');
    if (!file) throw new BadRestParameter("Required parameter 'file' is missing.");
    if (file.content.length === 0) throw new BadRestParameter('The uploaded config file is empty.');
    const scanConfigId = await this.dataSource.transaction(async (tx) => {
      const app = await this.activeApplication(tx, params.appId, caller);
      return this.tasks.upsertScanConfig(tx, {
        applicationId: app.id,
        scannerShortName: scanner.shortName,
        contentType: file.contentType || 'application/octet-stream',
        content: file.content,
        originalFilename: file.filename || null,
        uploadedByApiKeyId: caller.apiKeyId,
      });
    });
    return {
      message: `Scan configuration for scanner: ${params.scannerType} saved for appId: ${params.appId}`,
      scanConfigId,
    };
  }

  /** An application's scan configs (active or not), without their content. */
  async listScanConfigs(scope: TeamScope, applicationId: number): Promise<ScanConfigDto[]> {
    const manager = this.dataSource.manager;
    const app = await manager.findOneBy(ApplicationEntity, { id: applicationId });
    if (!app || !reachesTeam(scope, app.teamId)) throw new ApplicationNotFound(applicationId);
    return (await this.tasks.listScanConfigs(manager, applicationId)).map(toScanConfigDto);
  }

  /** Tasks newest first, each with its latest status only, within the caller's teams. */
  async listTasks(
    scope: TeamScope,
    params: ListTasksParams,
  ): Promise<{ total: number; page: number; pageSize: number; tasks: AdminTaskJson[] }> {
    const page = params.page ?? 1;
    const pageSize = params.pageSize ?? 50;
    let scanner: string | undefined;
    if (params.scanner !== undefined) {
      scanner = resolveScanner(params.scanner)?.displayName;
      if (!scanner) throw badScannerType(params.scanner);
    }
    const manager = this.dataSource.manager;
    const { total, tasks } = await this.tasks.list(manager, {
      scope,
      status: params.status,
      applicationId: params.applicationId,
      scanner,
      offset: (page - 1) * pageSize,
      limit: pageSize,
    });
    const views = await this.tasks.loadViews(manager, tasks, { statuses: STATUSES_IN_LISTS });
    return { total, page, pageSize, tasks: views.map((view) => toAdminTask(view, false)) };
  }

  /** One task with its latest status rows and their total (out of the caller's teams: missing). */
  async getTask(scope: TeamScope, id: number): Promise<AdminTaskDetailJson> {
    const manager = this.dataSource.manager;
    const task = await this.tasks.findTask(manager, id, { lock: false, scope });
    if (!task) throw new TaskNotFound(id);
    return toAdminTaskDetail(await this.tasks.loadView(manager, task, { ...SHOWN, count: true }));
  }

  /** A page of a task's status history, newest first. */
  async taskHistory(
    scope: TeamScope,
    id: number,
    params: TaskHistoryParams,
  ): Promise<TaskStatusPageJson> {
    const page = params.page ?? 1;
    const pageSize = params.pageSize ?? STATUSES_SHOWN;
    // One snapshot: the total and the page agree while the agent posts.
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      const task = await this.tasks.findTask(tx, id, { lock: false, scope });
      if (!task) throw new TaskNotFound(id);
      const { total, statuses } = await this.tasks.statusPage(tx, id, {
        limit: pageSize,
        offset: (page - 1) * pageSize,
      });
      return { total, page, pageSize, statuses: statuses.map(toAdminStatus) };
    });
  }

  /** QUEUED or ASSIGNED → COMPLETE_DELETED; the agent learns it on its next call (409). */
  async cancelTask(caller: AuthenticatedCaller, id: number): Promise<AdminTaskDetailJson> {
    return this.dataSource.transaction(async (tx) => {
      // Locked: the task cannot leave the caller's teams or change state before the transition.
      const task = await this.tasks.findTask(tx, id, { lock: true, scope: caller });
      if (!task) throw new TaskNotFound(id);
      const cancelled = await this.transitions.transitionTask(
        tx,
        id,
        TaskStatus.COMPLETE_DELETED,
        `Task cancelled by an administrator at: ${at()}`,
        { type: 'api_key', id: caller.apiKeyId },
      );
      if (!cancelled) throw new TaskStateConflict(task);
      this.metrics.taskFinished(TaskStatus.COMPLETE_DELETED);
      return toAdminTaskDetail(await this.tasks.loadView(tx, cancelled, { ...SHOWN, count: true }));
    });
  }
}

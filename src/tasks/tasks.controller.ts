/**
 * ThreadFix's Scan Agent "Tasks" API (`/rest/{version}/tasks/…`): one line per route. The agent
 * protocol needs Run Scan Agent or Manage Scan Agents; queueScan and setTaskConfig need Manage Scan
 * Agents (ThreadFix's meaning), never an agent's key; all of them are refused to restricted keys,
 * as in ThreadFix (permission.ts ACCESS, docs/security.md).
 */
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { andThen, MaybePromise } from '../async/maybe-promise';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { RestParams } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import {
  CompleteTaskParams,
  FailTaskParams,
  MAX_WAIT_SECONDS,
  QueueScanParams,
  RequestTaskParams,
  TaskStatusUpdateParams,
} from './task-params.dto';
import { AgentTaskJson, ThreadFixTaskJson } from './task-json.mapper';
import { ScannerJson } from './scanner.dto';
import { ScanUploadForm } from '../scans/scan-upload-form';
import { ScanConfigsService } from './scan-configs.service';
import { TaskForms } from './task-forms';
import { TASK_KEYS, TaskResultsService } from './task-results.service';
import { FILE_MISSING } from './task-wording';
import { PollAnswer, TasksService } from './tasks.service';
import { NoTaskFound } from './task-errors';
import { BadRestParameter } from '../rest/rest-error';
import { Departure, departureOnClose } from '../wakeups/waiters';

/**
 * setTaskConfig's answer keeps ThreadFix's envelope (clients read its `object` text); the id of the
 * saved config, which queueScan's scanConfigId names, comes in this header.
 */
export const SCAN_CONFIG_ID_HEADER = 'X-Scan-Config-Id';

/** Pacing: seconds the agent should wait before its next requestTask. */
export const POLL_INTERVAL_HEADER = 'X-Scanqueue-Poll-Interval';
/** Long poll: the wait, for clients that cannot add a form field. */
export const WAIT_HEADER = 'X-Scanqueue-Wait';

function waitHeader(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  const seconds = /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(seconds <= MAX_WAIT_SECONDS))
    throw new BadRestParameter(`${WAIT_HEADER} must be an integer from 0 to ${MAX_WAIT_SECONDS}.`);
  return seconds;
}

/** The poll's answer, its pacing header set: the task, if any. */
function paced(reply: FastifyReply, answer: PollAnswer): AgentTaskJson | undefined {
  void reply.header(POLL_INTERVAL_HEADER, String(answer.pollIntervalSeconds));
  return answer.task;
}

/**
 * A long poll's agent leaving: its connection closes before the answer (the request's own 'close'
 * came with its body). Only waits listen, each only while it waits (Waiters stops listening when
 * the wait ends): every reply's connection closes some day.
 */
function departureOf(reply: FastifyReply): Departure {
  const socket = reply.request.raw.socket;
  return departureOnClose(reply.raw, () => socket?.destroyed ?? false);
}

const FORM = ['application/x-www-form-urlencoded', 'application/json'];
const AGENT_OPERATION = () => RequireAccess(ACCESS.agentProtocol);
const QUEUEING = () => RequireAccess(ACCESS.queueing);

const KEY_FIELDS = {
  scanQueueTaskId: { type: 'integer' },
  scanAgentSecureKey: { type: 'string' },
  secureTaskKey: { type: 'string' },
};

@ApiTags('tasks (scan agent protocol)')
@Controller('rest/tasks')
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly results: TaskResultsService,
    private readonly configs: ScanConfigsService,
    private readonly forms: TaskForms,
    private readonly uploadForm: ScanUploadForm,
  ) {}

  @Get('requestScanAgentKey')
  @AGENT_OPERATION()
  @ApiOperation({
    summary: 'Issue a Secure Scan Agent Key (stored hashed; used on every later call)',
  })
  @ApiEnvelope('string')
  requestScanAgentKey(@Caller() caller: AuthenticatedCaller): Promise<string> {
    return this.tasks.requestScanAgentKey(caller);
  }

  @Get('scanners')
  @RequireAccess(ACCESS.scanners)
  @ApiOperation({ summary: 'The scanners an agent can run' })
  @ApiEnvelope(ScannerJson, { isArray: true })
  scanners(): ScannerJson[] {
    return this.tasks.scanners();
  }

  @RestPost('queueScan')
  @QUEUEING()
  @ApiConsumes(...FORM)
  @ApiOperation({
    summary:
      'Queue a scan task for an application; the target (the task’s own, else the application’s URL) must pass the target URL policy',
  })
  @ApiEnvelope(ThreadFixTaskJson, { failures: [404] })
  queueScan(
    @Caller() caller: AuthenticatedCaller,
    @RestParams() params: QueueScanParams,
  ): Promise<ThreadFixTaskJson> {
    return this.tasks.queueScan(caller, params);
  }

  @RestPost('requestTask')
  @AGENT_OPERATION()
  @ApiConsumes('application/x-www-form-urlencoded', 'multipart/form-data')
  @ApiOperation({
    summary:
      'Claim the oldest queued task for one of the agent’s scanners (atomic); "No task found." when none',
    description:
      'Fields: `scanners` (comma-separated), `agentConfig` (text, or a file part named `files`), `scanAgentSecureKey`, and, for a long poll, `waitSeconds` (0–3600, cut to POLL_WAIT_MAX_SECONDS; or the X-Scanqueue-Wait header): with no task claimable the answer waits for one that long.',
  })
  @ApiEnvelope(AgentTaskJson, {
    headers: {
      [POLL_INTERVAL_HEADER]: {
        description:
          'seconds the agent should wait before its next requestTask: 0 after a task and after a wait that ran out, POLL_INTERVAL_SECONDS after an immediate "No task found.", longer when the server was too busy to let it wait',
        schema: { type: 'integer' },
      },
    },
  })
  @ApiHeader({
    name: WAIT_HEADER,
    required: false,
    description: 'long poll: seconds to wait for a task (as the `waitSeconds` field)',
  })
  async requestTask(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RestParams() plain: Record<string, unknown>,
  ): Promise<AgentTaskJson> {
    const task = await this.pollForTask(caller, request, reply, plain);
    if (!task) throw new NoTaskFound();
    return task;
  }

  /**
   * requestTask's work, with the pacing header set: the claimed task, or undefined for "No task
   * found.", which the agents' lane (src/edge/request-task-lane.ts) answers without an error. A
   * promise only when the poll has to wait for one (a multipart form, a claim, a long poll).
   */
  pollForTask(
    caller: AuthenticatedCaller,
    request: FastifyRequest,
    reply: FastifyReply,
    plain: Record<string, unknown>,
  ): MaybePromise<AgentTaskJson | undefined> {
    return andThen(this.forms.requestTaskParams(request, plain), (params) =>
      this.pollWith(caller, reply, params),
    );
  }

  private pollWith(
    caller: AuthenticatedCaller,
    reply: FastifyReply,
    params: RequestTaskParams,
  ): MaybePromise<AgentTaskJson | undefined> {
    params.waitSeconds ??= waitHeader(reply.request.headers[WAIT_HEADER.toLowerCase()]);
    const answer = params.waitSeconds
      ? this.tasks.requestTask(caller, params, departureOf(reply))
      : this.tasks.requestTask(caller, params);
    return andThen(answer, (found) => paced(reply, found));
  }

  @RestPost('taskStatusUpdate')
  @AGENT_OPERATION()
  @ApiConsumes(...FORM)
  @ApiOperation({
    summary: 'Append a progress message to a claimed task (409 once it is cancelled or timed out)',
  })
  @ApiEnvelope('string', { failures: [404, 409, 413, 429] })
  taskStatusUpdate(
    @Caller() caller: AuthenticatedCaller,
    @RestParams() params: TaskStatusUpdateParams,
  ): Promise<string> {
    return this.tasks.taskStatusUpdate(caller, params);
  }

  @RestPost('setTaskConfig')
  @QUEUEING()
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['appId', 'scannerType', 'file'],
      properties: {
        appId: { type: 'integer' },
        scannerType: { type: 'string' },
        file: { type: 'string', format: 'binary' },
      },
    },
  })
  @ApiOperation({
    summary: "Replace an application's scan-agent config for a scanner (shipped base64 at claim)",
  })
  @ApiEnvelope('string', {
    failures: [404, 413],
    headers: {
      [SCAN_CONFIG_ID_HEADER]: {
        description:
          "the config's id, the scanConfigId queueScan takes (the envelope stays ThreadFix's)",
        schema: { type: 'integer' },
      },
    },
  })
  async setTaskConfig(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RestParams() plain: Record<string, unknown>,
  ): Promise<string> {
    const { params, file } = await this.forms.scanConfigForm(request, plain);
    const saved = await this.configs.setTaskConfig(caller, params, file);
    void reply.header(SCAN_CONFIG_ID_HEADER, String(saved.scanConfigId));
    return saved.message;
  }

  @RestPost('completeTask')
  @AGENT_OPERATION()
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['scanQueueTaskId', 'scanAgentSecureKey', 'secureTaskKey', 'file'],
      properties: { ...KEY_FIELDS, file: { type: 'string', format: 'binary' } },
    },
  })
  @ApiOperation({
    summary: 'Upload the scan result (streamed, validated) and mark the task COMPLETE_SUCCESSFUL',
  })
  @ApiEnvelope(ThreadFixTaskJson, { failures: [404, 409, 413, 422, 429] })
  async completeTask(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @RestParams() plain: Record<string, unknown>,
  ): Promise<ThreadFixTaskJson> {
    const upload = this.results.begin(caller);
    try {
      return await this.uploadForm.receive(
        request,
        {
          params: CompleteTaskParams,
          plain,
          missingFile: FILE_MISSING,
          // The keys, when they come before the file, are checked before it is read.
          beforeFile: {
            required: TASK_KEYS,
            check: (before, params) => this.results.beforeFile(caller, upload, before, params),
          },
        },
        (params, scan) => this.results.completeTask(caller, params, scan, upload),
      );
    } finally {
      upload.release();
    }
  }

  @RestPost('failTask')
  @AGENT_OPERATION()
  @ApiConsumes(...FORM)
  @ApiOperation({ summary: 'Mark a claimed task COMPLETE_FAILED with the agent’s reason' })
  @ApiEnvelope('string', { failures: [404, 409] })
  failTask(
    @Caller() caller: AuthenticatedCaller,
    @RestParams() params: FailTaskParams,
  ): Promise<string> {
    return this.tasks.failTask(caller, params);
  }
}

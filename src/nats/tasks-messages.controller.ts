/**
 * The tasks API over NATS (subjects `<NATS_SUBJECT_PREFIX><pattern>`): the agent protocol but its
 * file transfers (completeTask, setTaskConfig), the admin operations on tasks, scan configs and
 * agents. One line per pattern, through the REST route's service, behind its rule (permission.ts
 * ACCESS) and team scope; the comment names the route.
 */
import { MessagePattern } from '@nestjs/microservices';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ScanAgentDto, toScanAgentDto } from '../scan-agents/scan-agent.dto';
import { ScanAgentsService } from '../scan-agents/scan-agents.service';
import { ScanConfigDto } from '../tasks/scan-config.dto';
import { ScanConfigsService } from '../tasks/scan-configs.service';
import {
  AdminTaskDetailJson,
  AgentTaskJson,
  TaskStatusPageJson,
  ThreadFixTaskJson,
} from '../tasks/task-json.mapper';
import { TaskPageJson } from '../tasks/task-page.dto';
import {
  FailTaskParams,
  ListTasksParams,
  QueueScanParams,
  RequestTaskParams,
  TaskStatusUpdateParams,
} from '../tasks/task-params.dto';
import { TasksAdminService } from '../tasks/tasks-admin.service';
import { TasksService } from '../tasks/tasks.service';
import { NoTaskFound } from '../tasks/task-errors';
import { ServiceCaller } from './service-key.guard';
import {
  ApplicationIdMessage,
  IdMessage,
  TaskHistoryMessage,
  TaskIdMessage,
} from './service-messages.dto';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
export class TasksMessagesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly admin: TasksAdminService,
    private readonly configs: ScanConfigsService,
    private readonly agents: ScanAgentsService,
  ) {}

  /** GET rest/tasks/requestScanAgentKey */
  @MessagePattern('tasks.requestScanAgentKey')
  @RequireAccess(ACCESS.agentProtocol)
  requestScanAgentKey(@ServiceCaller() caller: Caller): Promise<string> {
    return this.tasks.requestScanAgentKey(caller);
  }

  /** GET rest/tasks/scanners */
  @MessagePattern('tasks.scanners')
  @RequireAccess(ACCESS.scanners)
  scanners(): { shortName: string; displayName: string }[] {
    return this.tasks.scanners();
  }

  /** POST rest/tasks/queueScan */
  @MessagePattern('tasks.queue')
  @RequireAccess(ACCESS.queueing)
  queue(
    @ServiceCaller() caller: Caller,
    @Message() params: QueueScanParams,
  ): Promise<ThreadFixTaskJson> {
    return this.tasks.queueScan(caller, params);
  }

  /** POST rest/tasks/requestTask (agentConfig as a field); answered at once (no long poll). */
  @MessagePattern('tasks.request')
  @RequireAccess(ACCESS.agentProtocol)
  async request(
    @ServiceCaller() caller: Caller,
    @Message() params: RequestTaskParams,
  ): Promise<AgentTaskJson> {
    const answer = await this.tasks.requestTask(caller, { ...params, waitSeconds: 0 });
    if (!answer.task) throw new NoTaskFound();
    return answer.task;
  }

  /** POST rest/tasks/taskStatusUpdate */
  @MessagePattern('tasks.statusUpdate')
  @RequireAccess(ACCESS.agentProtocol)
  statusUpdate(
    @ServiceCaller() caller: Caller,
    @Message() params: TaskStatusUpdateParams,
  ): Promise<string> {
    return this.tasks.taskStatusUpdate(caller, params);
  }

  /** POST rest/tasks/failTask */
  @MessagePattern('tasks.fail')
  @RequireAccess(ACCESS.agentProtocol)
  fail(@ServiceCaller() caller: Caller, @Message() params: FailTaskParams): Promise<string> {
    return this.tasks.failTask(caller, params);
  }

  /** GET rest/tasks */
  @MessagePattern('tasks.list')
  @RequireAccess(ACCESS.queueRead)
  list(@ServiceCaller() caller: Caller, @Message() params: ListTasksParams): Promise<TaskPageJson> {
    return this.admin.listTasks(caller, params);
  }

  /** GET rest/tasks/:id */
  @MessagePattern('tasks.get')
  @RequireAccess(ACCESS.queueRead)
  get(
    @ServiceCaller() caller: Caller,
    @Message() params: TaskIdMessage,
  ): Promise<AdminTaskDetailJson> {
    return this.admin.getTask(caller, params.id);
  }

  /** GET rest/tasks/:id/statuses */
  @MessagePattern('tasks.history')
  @RequireAccess(ACCESS.queueRead)
  history(
    @ServiceCaller() caller: Caller,
    @Message() params: TaskHistoryMessage,
  ): Promise<TaskStatusPageJson> {
    return this.admin.taskHistory(caller, params.id, params);
  }

  /** POST rest/tasks/:id/cancel */
  @MessagePattern('tasks.cancel')
  @RequireAccess(ACCESS.queueAdmin)
  cancel(
    @ServiceCaller() caller: Caller,
    @Message() params: TaskIdMessage,
  ): Promise<AdminTaskDetailJson> {
    return this.admin.cancelTask(caller, params.id);
  }

  /** GET rest/applications/:applicationId/scan-configs */
  @MessagePattern('scanConfigs.list')
  @RequireAccess(ACCESS.scanConfigRead)
  scanConfigs(
    @ServiceCaller() caller: Caller,
    @Message() params: ApplicationIdMessage,
  ): Promise<ScanConfigDto[]> {
    return this.configs.listScanConfigs(caller, params.applicationId);
  }

  /** GET rest/scan-agents */
  @MessagePattern('agents.list')
  @RequireAccess(ACCESS.queueRead)
  async agentList(@ServiceCaller() caller: Caller): Promise<ScanAgentDto[]> {
    return (await this.agents.list(caller)).map(toScanAgentDto);
  }

  /** POST rest/scan-agents/:id/revoke */
  @MessagePattern('agents.revoke')
  @RequireAccess(ACCESS.queueAdmin)
  async agentRevoke(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ScanAgentDto> {
    return toScanAgentDto(await this.agents.revoke(params.id, caller));
  }
}

/**
 * Admin operations on the queue (not in ThreadFix's REST API; its UI had them). Keys are always
 * redacted. A key limited to teams sees its teams' tasks only; any other is missing to it.
 */
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { AdminTaskDetailJson, TaskStatusPageJson } from './task-json.mapper';
import { ListTasksParams, TaskHistoryParams } from './task-params.dto';
import { TaskPageJson } from './task-page.dto';
import { TasksAdminService } from './tasks-admin.service';

@ApiTags('tasks (admin)')
@Controller('rest/tasks')
export class TasksAdminController {
  constructor(private readonly tasks: TasksAdminService) {}

  @Get()
  @RequireAccess(ACCESS.queueRead)
  @ApiOperation({
    summary: 'List tasks, newest first, with filters and paging; each with its latest status',
  })
  @ApiEnvelope(TaskPageJson)
  list(
    @Caller() caller: AuthenticatedCaller,
    @Query() params: ListTasksParams,
  ): Promise<TaskPageJson> {
    return this.tasks.listTasks(caller, params);
  }

  @Get(':id')
  @RequireAccess(ACCESS.queueRead)
  @ApiOperation({
    summary:
      'One task with its latest 100 status rows (who, when, from → to) and how many it has in all',
  })
  @ApiEnvelope(AdminTaskDetailJson, { failures: [404] })
  get(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<AdminTaskDetailJson> {
    return this.tasks.getTask(caller, parseId(id));
  }

  @Get(':id/statuses')
  @RequireAccess(ACCESS.queueRead)
  @ApiOperation({ summary: "A task's whole status history, newest first, a page at a time" })
  @ApiEnvelope(TaskStatusPageJson, { failures: [404] })
  history(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
    @Query() params: TaskHistoryParams,
  ): Promise<TaskStatusPageJson> {
    return this.tasks.taskHistory(caller, parseId(id), params);
  }

  @RestPost(':id/cancel')
  @RequireAccess(ACCESS.queueAdmin)
  @ApiOperation({
    summary:
      'Cancel a queued or assigned task (COMPLETE_DELETED); the agent is told on its next call',
  })
  @ApiEnvelope(AdminTaskDetailJson, { failures: [404, 409] })
  cancel(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<AdminTaskDetailJson> {
    return this.tasks.cancelTask(caller, parseId(id));
  }
}

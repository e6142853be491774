/** Admin operations on the queue (not in ThreadFix's REST API; its UI had them). Keys are always redacted. */
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { AdminTaskJson } from './task-json.mapper';
import { ListTasksParams } from './task-params.dto';
import { TaskPageJson } from './task-page.dto';
import { TasksService } from './tasks.service';

const READ = [Permission.CAN_MANAGE_SCAN_AGENTS, Permission.READ_ACCESS];

@ApiTags('tasks (admin)')
@Controller('rest/tasks')
export class TasksAdminController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  @RequirePermission(READ)
  @ApiOperation({ summary: 'List tasks, newest first, with filters and paging' })
  @ApiEnvelope(TaskPageJson)
  list(@Query() params: ListTasksParams): Promise<TaskPageJson> {
    return this.tasks.listTasks(params);
  }

  @Get(':id')
  @RequirePermission(READ)
  @ApiOperation({ summary: 'One task with its full status history (who, when, from → to)' })
  @ApiEnvelope(AdminTaskJson, { failures: [404] })
  get(@Param('id') id: string): Promise<AdminTaskJson> {
    return this.tasks.getTask(parseId(id));
  }

  @RestPost(':id/cancel')
  @RequirePermission(Permission.CAN_MANAGE_SCAN_AGENTS)
  @ApiOperation({
    summary:
      'Cancel a queued or assigned task (COMPLETE_DELETED); the agent is told on its next call',
  })
  @ApiEnvelope(AdminTaskJson, { failures: [404, 409] })
  cancel(@Caller() caller: AuthenticatedCaller, @Param('id') id: string): Promise<AdminTaskJson> {
    return this.tasks.cancelTask(caller, parseId(id));
  }
}

/**
 * An application's scheduled scans (ThreadFix's UI-only ScheduledScanController, as REST; spec
 * §7), one line per route. Reads: who reads the application; changes: its managers.
 */
import { Controller, Delete, Get, Param, Patch } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId, RestParams } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { CreateScheduleParams, ScheduleJson, UpdateScheduleParams } from './schedule.dto';
import { SchedulesService } from './schedules.service';

const app = (id: string) => parseId(id, 'applicationId');
const schedule = (id: string) => parseId(id, 'scheduleId');

@ApiTags('scheduled scans')
@Controller('rest/applications/:applicationId/scheduledScans')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @RestPost()
  @RequireAccess(ACCESS.scheduleWrite)
  @ApiOperation({
    summary:
      'Create a schedule: `scanner`, and `cronExpression` + `timezone` or ThreadFix’s `frequency`/`hour`/`minute`/`period`/`day`',
    description:
      'Each due time queues one task (history: "Scan queued by schedule <id> for <due time>"), on one instance of many. `whenPending: skip` (default) records a skip instead while a task of the schedule is still QUEUED or ASSIGNED.',
  })
  @ApiEnvelope(ScheduleJson, { failures: [404, 409] })
  create(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @RestParams() params: CreateScheduleParams,
  ): Promise<ScheduleJson> {
    return this.schedules.create(caller, app(applicationId), params);
  }

  @Get()
  @RequireAccess(ACCESS.scheduleRead)
  @ApiOperation({ summary: "An application's schedules, each with its next and last run" })
  @ApiEnvelope(ScheduleJson, { isArray: true, failures: [404] })
  list(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
  ): Promise<ScheduleJson[]> {
    return this.schedules.list(caller, app(applicationId));
  }

  @Get(':scheduleId')
  @RequireAccess(ACCESS.scheduleRead)
  @ApiOperation({ summary: 'One schedule with its next and last run' })
  @ApiEnvelope(ScheduleJson, { failures: [404] })
  get(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scheduleId') scheduleId: string,
  ): Promise<ScheduleJson> {
    return this.schedules.get(caller, app(applicationId), schedule(scheduleId));
  }

  @Patch(':scheduleId')
  @RequireAccess(ACCESS.scheduleWrite)
  @ApiOperation({
    summary: 'Change the fields given; a new timing reckons the next due time from now',
  })
  @ApiEnvelope(ScheduleJson, { failures: [404] })
  update(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scheduleId') scheduleId: string,
    @RestParams() params: UpdateScheduleParams,
  ): Promise<ScheduleJson> {
    return this.schedules.update(caller, app(applicationId), schedule(scheduleId), params);
  }

  @Delete(':scheduleId')
  @RequireAccess(ACCESS.scheduleWrite)
  @ApiOperation({ summary: 'Delete a schedule (ThreadFix’s answer text); its runs go with it' })
  @ApiEnvelope('string', { failures: [404] })
  delete(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scheduleId') scheduleId: string,
  ): Promise<string> {
    return this.schedules.delete(caller, app(applicationId), schedule(scheduleId));
  }

  @RestPost(':scheduleId/enable')
  @RequireAccess(ACCESS.scheduleWrite)
  @ApiOperation({ summary: 'Enable: the next due time is the first after now (no catch-up)' })
  @ApiEnvelope(ScheduleJson, { failures: [404] })
  enable(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scheduleId') scheduleId: string,
  ): Promise<ScheduleJson> {
    return this.schedules.setEnabled(caller, app(applicationId), schedule(scheduleId), true);
  }

  @RestPost(':scheduleId/disable')
  @RequireAccess(ACCESS.scheduleWrite)
  @ApiOperation({ summary: 'Disable: no due time fires until it is enabled again' })
  @ApiEnvelope(ScheduleJson, { failures: [404] })
  disable(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scheduleId') scheduleId: string,
  ): Promise<ScheduleJson> {
    return this.schedules.setEnabled(caller, app(applicationId), schedule(scheduleId), false);
  }
}

/**
 * Scheduled scans over NATS: each pattern through its REST route's service, behind its rule and
 * team scope; the comment names the route (rest/applications/:applicationId/scheduledScans…).
 */
import { MessagePattern } from '@nestjs/microservices';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import {
  ApplicationSchedulesMessage,
  CreateScheduleMessage,
  ScheduleJson,
  ScheduleMessage,
  UpdateScheduleMessage,
} from '../schedules/schedule.dto';
import { SchedulesService } from '../schedules/schedules.service';
import { ServiceCaller } from './service-key.guard';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
export class SchedulesMessagesController {
  constructor(private readonly schedules: SchedulesService) {}

  /** POST …/scheduledScans */
  @MessagePattern('schedules.create')
  @RequireAccess(ACCESS.scheduleWrite)
  create(
    @ServiceCaller() caller: Caller,
    @Message() params: CreateScheduleMessage,
  ): Promise<ScheduleJson> {
    const { applicationId, ...fields } = params;
    return this.schedules.create(caller, applicationId, fields);
  }

  /** GET …/scheduledScans */
  @MessagePattern('schedules.list')
  @RequireAccess(ACCESS.scheduleRead)
  list(
    @ServiceCaller() caller: Caller,
    @Message() params: ApplicationSchedulesMessage,
  ): Promise<ScheduleJson[]> {
    return this.schedules.list(caller, params.applicationId);
  }

  /** GET …/scheduledScans/:scheduleId */
  @MessagePattern('schedules.get')
  @RequireAccess(ACCESS.scheduleRead)
  get(@ServiceCaller() caller: Caller, @Message() params: ScheduleMessage): Promise<ScheduleJson> {
    return this.schedules.get(caller, params.applicationId, params.scheduleId);
  }

  /** PATCH …/scheduledScans/:scheduleId */
  @MessagePattern('schedules.update')
  @RequireAccess(ACCESS.scheduleWrite)
  update(
    @ServiceCaller() caller: Caller,
    @Message() params: UpdateScheduleMessage,
  ): Promise<ScheduleJson> {
    const { applicationId, scheduleId, ...fields } = params;
    return this.schedules.update(caller, applicationId, scheduleId, fields);
  }

  /** DELETE …/scheduledScans/:scheduleId */
  @MessagePattern('schedules.delete')
  @RequireAccess(ACCESS.scheduleWrite)
  delete(@ServiceCaller() caller: Caller, @Message() params: ScheduleMessage): Promise<string> {
    return this.schedules.delete(caller, params.applicationId, params.scheduleId);
  }

  /** POST …/scheduledScans/:scheduleId/enable */
  @MessagePattern('schedules.enable')
  @RequireAccess(ACCESS.scheduleWrite)
  enable(
    @ServiceCaller() caller: Caller,
    @Message() params: ScheduleMessage,
  ): Promise<ScheduleJson> {
    return this.schedules.setEnabled(caller, params.applicationId, params.scheduleId, true);
  }

  /** POST …/scheduledScans/:scheduleId/disable */
  @MessagePattern('schedules.disable')
  @RequireAccess(ACCESS.scheduleWrite)
  disable(
    @ServiceCaller() caller: Caller,
    @Message() params: ScheduleMessage,
  ): Promise<ScheduleJson> {
    return this.schedules.setEnabled(caller, params.applicationId, params.scheduleId, false);
  }
}

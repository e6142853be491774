/**
 * Request/reply patterns for other services over NATS (subjects `<NATS_SUBJECT_PREFIX><pattern>`):
 * the admin operations of the REST API, through the same services and mappers, behind the same
 * permissions as their REST routes. One line per pattern, as the REST controllers.
 */
import { Controller, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ScanDto, toScanDto } from '../scans/scan.dto';
import { ScansService } from '../scans/scans.service';
import { AdminTaskJson, ThreadFixTaskJson } from '../tasks/task-json.mapper';
import { QueueScanParams } from '../tasks/task-params.dto';
import { TasksService } from '../tasks/tasks.service';
import { ServiceEnvelopeFilter, ServiceEnvelopeInterceptor } from './service-envelope';
import { ServiceCaller, ServiceKeyGuard } from './service-key.guard';
import { ApplicationScansMessage, ServicePayloadPipe, TaskIdMessage } from './service-messages.dto';

/** As GET rest/tasks/:id. */
const READ_TASKS = [Permission.CAN_MANAGE_SCAN_AGENTS, Permission.READ_ACCESS];
/** As GET rest/applications/:applicationId/scans. */
const READ_SCANS = [
  Permission.READ_ACCESS,
  Permission.CAN_MANAGE_APPLICATIONS,
  Permission.CAN_MANAGE_SCAN_AGENTS,
];

// NATS patterns, not HTTP routes: documented in docs/events.md, not in the OpenAPI document.
@ApiExcludeController()
@Controller()
@UseGuards(ServiceKeyGuard)
@UseInterceptors(ServiceEnvelopeInterceptor)
@UseFilters(ServiceEnvelopeFilter)
export class ServiceMessagesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly scans: ScansService,
  ) {}

  /** As POST rest/tasks/queueScan. */
  @MessagePattern('tasks.queue')
  @RequirePermission(Permission.CAN_MANAGE_SCAN_AGENTS, { restricted: true })
  queue(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: QueueScanParams,
  ): Promise<ThreadFixTaskJson> {
    return this.tasks.queueScan(caller, params);
  }

  @MessagePattern('tasks.get')
  @RequirePermission(READ_TASKS)
  get(@Payload(ServicePayloadPipe) params: TaskIdMessage): Promise<AdminTaskJson> {
    return this.tasks.getTask(params.id);
  }

  /** As POST rest/tasks/:id/cancel. */
  @MessagePattern('tasks.cancel')
  @RequirePermission(Permission.CAN_MANAGE_SCAN_AGENTS)
  cancel(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: TaskIdMessage,
  ): Promise<AdminTaskJson> {
    return this.tasks.cancelTask(caller, params.id);
  }

  @MessagePattern('applications.scans')
  @RequirePermission(READ_SCANS)
  async applicationScans(
    @Payload(ServicePayloadPipe) params: ApplicationScansMessage,
  ): Promise<ScanDto[]> {
    return (await this.scans.listForApplication(params.applicationId)).map(toScanDto);
  }
}

/**
 * Request/reply patterns for other services over NATS (subjects `<NATS_SUBJECT_PREFIX><pattern>`):
 * the admin operations of the REST API, through the same services and mappers, behind the same
 * rules of the roles table (permission.ts ACCESS) and the same team scope as their REST routes.
 * One line per pattern, as the REST controllers.
 */
import { Controller, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ScanDto, toScanDto } from '../scans/scan.dto';
import { ScansService } from '../scans/scans.service';
import { AdminTaskDetailJson, ThreadFixTaskJson } from '../tasks/task-json.mapper';
import { QueueScanParams } from '../tasks/task-params.dto';
import { TasksAdminService } from '../tasks/tasks-admin.service';
import { TasksService } from '../tasks/tasks.service';
import { ServiceEnvelopeFilter, ServiceEnvelopeInterceptor } from './service-envelope';
import { ServiceCaller, ServiceKeyGuard } from './service-key.guard';
import { ApplicationScansMessage, ServicePayloadPipe, TaskIdMessage } from './service-messages.dto';

// NATS patterns, not HTTP routes: documented in docs/events.md, not in the OpenAPI document.
@ApiExcludeController()
@Controller()
@UseGuards(ServiceKeyGuard)
@UseInterceptors(ServiceEnvelopeInterceptor)
@UseFilters(ServiceEnvelopeFilter)
export class ServiceMessagesController {
  constructor(
    private readonly tasks: TasksService,
    private readonly admin: TasksAdminService,
    private readonly scans: ScansService,
  ) {}

  /** As POST rest/tasks/queueScan. */
  @MessagePattern('tasks.queue')
  @RequireAccess(ACCESS.queueing)
  queue(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: QueueScanParams,
  ): Promise<ThreadFixTaskJson> {
    return this.tasks.queueScan(caller, params);
  }

  /** As GET rest/tasks/:id. */
  @MessagePattern('tasks.get')
  @RequireAccess(ACCESS.queueRead)
  get(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: TaskIdMessage,
  ): Promise<AdminTaskDetailJson> {
    return this.admin.getTask(caller, params.id);
  }

  /** As POST rest/tasks/:id/cancel. */
  @MessagePattern('tasks.cancel')
  @RequireAccess(ACCESS.queueAdmin)
  cancel(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: TaskIdMessage,
  ): Promise<AdminTaskDetailJson> {
    return this.admin.cancelTask(caller, params.id);
  }

  /** As GET rest/applications/:applicationId/scans. */
  @MessagePattern('applications.scans')
  @RequireAccess(ACCESS.scanRead)
  async applicationScans(
    @ServiceCaller() caller: AuthenticatedCaller,
    @Payload(ServicePayloadPipe) params: ApplicationScansMessage,
  ): Promise<ScanDto[]> {
    return (await this.scans.listForApplication(params.applicationId, caller)).map(toScanDto);
  }
}

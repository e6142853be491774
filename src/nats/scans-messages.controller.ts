/**
 * Scans over NATS but their file transfers (the direct upload, the downloads): each pattern
 * through its REST route's service, behind its rule and team scope; the comment names the route.
 * (What the imports found: imports-messages.controller.ts.)
 */
import { MessagePattern } from '@nestjs/microservices';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { DirectUploadsService } from '../scans/direct-uploads.service';
import { ScanDto, toScanDto } from '../scans/scan.dto';
import { ScansService } from '../scans/scans.service';
import { PendingScanJson, ScanDetailsJson } from '../scans/threadfix-scan.dto';
import { ThreadFixScansService } from '../scans/threadfix-scans.service';
import { ServiceCaller } from './service-key.guard';
import {
  ApplicationScansMessage,
  PendingScanMessage,
  ScanDetailsMessage,
} from './service-messages.dto';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
export class ScansMessagesController {
  constructor(
    private readonly scans: ScansService,
    private readonly threadFixScans: ThreadFixScansService,
    private readonly uploads: DirectUploadsService,
  ) {}

  /** GET rest/applications/:applicationId/scans */
  @MessagePattern('applications.scans')
  @RequireAccess(ACCESS.scanRead)
  async applicationScans(
    @ServiceCaller() caller: Caller,
    @Message() params: ApplicationScansMessage,
  ): Promise<ScanDto[]> {
    return (await this.scans.listForApplication(params.applicationId, caller)).map(toScanDto);
  }

  /** GET rest/scans/:scanId */
  @MessagePattern('scans.details')
  @RequireAccess(ACCESS.scanRead)
  details(
    @ServiceCaller() caller: Caller,
    @Message() params: ScanDetailsMessage,
  ): Promise<ScanDetailsJson> {
    return this.threadFixScans.details(caller, params.scanId, params.page, params.pageSize);
  }

  /** GET rest/applications/:applicationId/pendingScan/:pendingScanId/status (its text: `message`) */
  @MessagePattern('scans.pendingStatus')
  @RequireAccess(ACCESS.pendingScan)
  async pendingStatus(
    @ServiceCaller() caller: Caller,
    @Message() params: PendingScanMessage,
  ): Promise<{ message: string; status: PendingScanJson }> {
    return this.uploads.pendingStatus(caller, params.applicationId, params.pendingScanId);
  }
}

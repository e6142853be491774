/**
 * An application's scan-agent configs (setTaskConfig uploads them), listed without their content,
 * so an admin or a service can learn the scanConfigId that queueScan takes. Not in ThreadFix's API.
 */
import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { ScanConfigDto } from './scan-config.dto';
import { ScanConfigsService } from './scan-configs.service';

@ApiTags('scan configs')
@Controller('rest/applications/:applicationId/scan-configs')
// As an application's scans, and the agent managers who upload configs (to learn their ids).
@RequireAccess(ACCESS.scanConfigRead)
export class ScanConfigsController {
  constructor(private readonly configs: ScanConfigsService) {}

  @Get()
  @ApiOperation({
    summary:
      "List an application's scan configs (id, scanner, file name, size, SHA-256, …), not their content",
  })
  @ApiEnvelope(ScanConfigDto, { isArray: true, failures: [404] })
  list(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
  ): Promise<ScanConfigDto[]> {
    return this.configs.listScanConfigs(caller, parseId(applicationId, 'applicationId'));
  }
}

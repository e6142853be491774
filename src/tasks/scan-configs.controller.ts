/**
 * An application's scan-agent configs (setTaskConfig uploads them), listed without their content,
 * so an admin or a service can learn the scanConfigId that queueScan takes. Not in ThreadFix's API.
 */
import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { ScanConfigDto } from './scan-config.dto';
import { TasksService } from './tasks.service';

/** As an application's scans: readers, application managers, and the agent managers who upload configs. */
const READ = [
  Permission.READ_ACCESS,
  Permission.CAN_MANAGE_APPLICATIONS,
  Permission.CAN_MANAGE_SCAN_AGENTS,
];

@ApiTags('scan configs')
@Controller('rest/applications/:applicationId/scan-configs')
@RequirePermission(READ)
export class ScanConfigsController {
  constructor(private readonly tasks: TasksService) {}

  @Get()
  @ApiOperation({
    summary:
      "List an application's scan configs (id, scanner, file name, size, SHA-256, …), not their content",
  })
  @ApiEnvelope(ScanConfigDto, { isArray: true, failures: [404] })
  list(@Param('applicationId') applicationId: string): Promise<ScanConfigDto[]> {
    return this.tasks.listScanConfigs(parseId(applicationId, 'applicationId'));
  }
}

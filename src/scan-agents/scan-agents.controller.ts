import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { ScanAgentDto, toScanAgentDto } from './scan-agent.dto';
import { ScanAgentsService } from './scan-agents.service';

/** Admin view of agent instances (not in ThreadFix). */
@ApiTags('scan-agents')
@Controller('rest/scan-agents')
export class ScanAgentsController {
  constructor(private readonly agents: ScanAgentsService) {}

  @Get()
  @ApiOperation({ summary: 'List scan agents (keys are never shown)' })
  @RequirePermission([Permission.CAN_MANAGE_SCAN_AGENTS, Permission.READ_ACCESS])
  @ApiEnvelope(ScanAgentDto, { isArray: true })
  async list(): Promise<ScanAgentDto[]> {
    return (await this.agents.list()).map(toScanAgentDto);
  }

  @RestPost(':id/revoke')
  @ApiOperation({ summary: "Revoke an agent key: the agent's next call is refused (403)" })
  @RequirePermission(Permission.CAN_MANAGE_SCAN_AGENTS)
  @ApiEnvelope(ScanAgentDto, { failures: [404] })
  async revoke(@Param('id') id: string): Promise<ScanAgentDto> {
    return toScanAgentDto(await this.agents.revoke(parseId(id)));
  }
}

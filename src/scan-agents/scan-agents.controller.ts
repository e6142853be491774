import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { ScanAgentDto, ScanAgentPauseDto, toPauseDto, toScanAgentDto } from './scan-agent.dto';
import { ScanAgentsService } from './scan-agents.service';

/**
 * Admin view of agent instances (not in ThreadFix). A key limited to teams sees, revokes, pauses
 * and resumes only the agents issued by keys limited to teams within its own.
 */
@ApiTags('scan-agents')
@Controller('rest/scan-agents')
export class ScanAgentsController {
  constructor(private readonly agents: ScanAgentsService) {}

  @Get()
  @ApiOperation({
    summary: 'List scan agents (keys are never shown)',
    description:
      'With liveness (online: seen within AGENT_ONLINE_SECONDS), the scanners of its latest requestTask, the ASSIGNED task it holds and whether it is paused.',
  })
  @RequireAccess(ACCESS.queueRead)
  @ApiEnvelope(ScanAgentDto, { isArray: true })
  async list(@Caller() caller: AuthenticatedCaller): Promise<ScanAgentDto[]> {
    return (await this.agents.list(caller)).map(toScanAgentDto);
  }

  @RestPost(':id/revoke')
  @ApiOperation({ summary: "Revoke an agent key: the agent's next call is refused (403)" })
  @RequireAccess(ACCESS.queueAdmin)
  @ApiEnvelope(ScanAgentDto, { failures: [404] })
  async revoke(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ScanAgentDto> {
    return toScanAgentDto(await this.agents.revoke(parseId(id), caller));
  }

  @RestPost(':id/pause')
  @ApiOperation({
    summary: 'Pause an agent: its requestTask answers "No task found." until resumed',
    description:
      'It keeps its key and may finish the task it holds (status updates, completeTask, failTask). Pausing a paused agent changes nothing (changed: false). Raises fleet.agent_paused.',
  })
  @RequireAccess(ACCESS.queueAdmin)
  @ApiEnvelope(ScanAgentPauseDto, { failures: [404] })
  async pause(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ScanAgentPauseDto> {
    return toPauseDto(await this.agents.setPaused(parseId(id), caller, true));
  }

  @RestPost(':id/resume')
  @ApiOperation({
    summary: 'Resume a paused agent: it is handed tasks again',
    description:
      'Resuming a running agent changes nothing (changed: false). Raises fleet.agent_resumed.',
  })
  @RequireAccess(ACCESS.queueAdmin)
  @ApiEnvelope(ScanAgentPauseDto, { failures: [404] })
  async resume(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ScanAgentPauseDto> {
    return toPauseDto(await this.agents.setPaused(parseId(id), caller, false));
  }
}

import { ApiProperty } from '@nestjs/swagger';
import { FleetAgentRow } from './scan-agents.repository';
import type { AgentPauseResult } from './scan-agents.service';

/** The ASSIGNED task an agent holds (its newest, should it hold several). */
export class AgentCurrentTaskDto {
  @ApiProperty() id!: number;
  @ApiProperty({ example: 2 }) status!: number;
  @ApiProperty({ example: 'ASSIGNED' }) statusString!: string;
}

/** An agent as admins see it: never its key. */
export class ScanAgentDto {
  @ApiProperty() id!: number;
  @ApiProperty({ description: 'The API key that requested this agent key' }) apiKeyId!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'epoch ms of its latest authenticated call (written at most every AGENT_ONLINE_SECONDS / 4, 60 s at most)',
  })
  lastSeenTime!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'agentConfig of its latest requestTask',
  })
  lastAgentConfig!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) revokedTime!:
    number | null;
  @ApiProperty({ description: 'Seen within AGENT_ONLINE_SECONDS (computed when listed)' })
  online!: boolean;
  @ApiProperty({
    type: [String],
    description: 'Short names of the known scanners its latest requestTask asked for',
    example: ['zap', 'burp'],
  })
  scanners!: string[];
  @ApiProperty({ type: AgentCurrentTaskDto, nullable: true })
  currentTask!: AgentCurrentTaskDto | null;
  @ApiProperty({ description: 'Paused by an admin: answered "No task found." until resumed' })
  paused!: boolean;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) pausedTime!:
    number | null;
}

/** The answer of a pause or resume: the agent after it, and whether it changed anything. */
export class ScanAgentPauseDto {
  @ApiProperty({ example: 'Scan agent 3 paused.' }) message!: string;
  @ApiProperty({ description: 'false when the agent already was paused (or running)' })
  changed!: boolean;
  @ApiProperty({ type: ScanAgentDto }) agent!: ScanAgentDto;
}

export function toScanAgentDto(agent: FleetAgentRow): ScanAgentDto {
  return {
    id: agent.id,
    apiKeyId: agent.api_key_id,
    active: agent.revoked_at === null,
    createdTime: agent.created_at.getTime(),
    lastSeenTime: agent.last_seen_at?.getTime() ?? null,
    lastAgentConfig: agent.last_agent_config,
    revokedTime: agent.revoked_at?.getTime() ?? null,
    online: agent.online,
    scanners: agent.last_scanners ?? [],
    currentTask:
      agent.current_task_id === null
        ? null
        : { id: agent.current_task_id, status: 2, statusString: 'ASSIGNED' },
    paused: agent.paused_at !== null,
    pausedTime: agent.paused_at?.getTime() ?? null,
  };
}

export function toPauseDto(result: AgentPauseResult): ScanAgentPauseDto {
  return { message: result.message, changed: result.changed, agent: toScanAgentDto(result.agent) };
}

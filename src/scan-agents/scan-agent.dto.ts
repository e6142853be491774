import { ApiProperty } from '@nestjs/swagger';
import { ScanAgentEntity } from './scan-agent.entity';

/** An agent as admins see it: never its key. */
export class ScanAgentDto {
  @ApiProperty() id!: number;
  @ApiProperty({ description: 'The API key that requested this agent key' }) apiKeyId!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) lastSeenTime!:
    number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'agentConfig of its latest requestTask',
  })
  lastAgentConfig!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) revokedTime!:
    number | null;
}

export function toScanAgentDto(agent: ScanAgentEntity): ScanAgentDto {
  return {
    id: agent.id,
    apiKeyId: agent.apiKeyId,
    active: agent.revokedAt === null,
    createdTime: agent.createdAt.getTime(),
    lastSeenTime: agent.lastSeenAt?.getTime() ?? null,
    lastAgentConfig: agent.lastAgentConfig,
    revokedTime: agent.revokedAt?.getTime() ?? null,
  };
}

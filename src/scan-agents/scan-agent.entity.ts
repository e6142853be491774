import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A scan-agent instance: what `requestScanAgentKey` issued (ThreadFix kept no such record). */
@Entity({ name: 'scan_agents' })
export class ScanAgentEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scan_agents_key_hash_key', { unique: true })
  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  /** The API key that asked for this agent key. */
  @Column({ name: 'api_key_id', type: 'int' })
  apiKeyId!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt!: Date | null;

  /** The agentConfig text of the agent's latest requestTask (host details the agent chose to send). */
  @Column({ name: 'last_agent_config', type: 'text', nullable: true })
  lastAgentConfig!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

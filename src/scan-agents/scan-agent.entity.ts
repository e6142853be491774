import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity';

/** A scan-agent instance: what `requestScanAgentKey` issued (ThreadFix kept no such record). */
@Entity({ name: 'scan_agents' })
@Unique('scan_agents_key_hash_key', ['keyHash'])
export class ScanAgentEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'key_hash', type: 'char', length: 64 })
  keyHash!: string;

  /** The API key that asked for this agent key. */
  @Column({ name: 'api_key_id', type: 'int' })
  apiKeyId!: number;

  @ManyToOne(() => ApiKeyEntity)
  @JoinColumn({ name: 'api_key_id', foreignKeyConstraintName: 'scan_agents_api_key_id_fkey' })
  apiKey?: ApiKeyEntity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt!: Date | null;

  /** The agentConfig text of the agent's latest requestTask (host details the agent chose to send). */
  @Column({ name: 'last_agent_config', type: 'text', nullable: true })
  lastAgentConfig!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** Set while an admin has the agent paused: it keeps its key and is handed no task. */
  @Column({ name: 'paused_at', type: 'timestamptz', nullable: true })
  pausedAt!: Date | null;

  /** Short names of the known scanners its latest requestTask asked for (at most every scanner). */
  @Column({ name: 'last_scanners', type: 'text', array: true, nullable: true })
  lastScanners!: string[] | null;
}

import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { ScanAgentEntity } from '../scan-agents/scan-agent.entity';
import { ScanConfigEntity } from '../scans/scan-config.entity';
import { TaskStatus } from './task-status';

/**
 * A scan queue task. `status` is written only by task-transitions.repository.ts (guarded SQL); secrets are
 * stored as SHA-256 hashes.
 */
@Entity({ name: 'scan_queue_tasks' })
@Check('scan_queue_tasks_status_check', 'status >= 1 AND status <= 7')
@Check('scan_queue_tasks_timeout_seconds_check', 'timeout_seconds > 0')
// The claim's index is a partial one declared in the migration (see task-transitions.repository.ts).
@Index('scan_queue_tasks_claimable_idx', { synchronize: false })
@Index('scan_queue_tasks_queued_idx', { synchronize: false })
@Index('scan_queue_tasks_overdue_idx', { synchronize: false })
@Index('scan_queue_tasks_expiry_idx', { synchronize: false })
@Index('scan_queue_tasks_silence_idx', { synchronize: false })
@Check('scan_queue_tasks_priority_check', 'priority BETWEEN -100 AND 100')
@Check('scan_queue_tasks_attempt_check', 'attempt >= 1')
@Check('scan_queue_tasks_retry_limit_check', 'retry_limit BETWEEN 0 AND 20')
@Check('scan_queue_tasks_retry_delay_seconds_check', 'retry_delay_seconds BETWEEN 0 AND 86400')
export class ScanQueueTaskEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scan_queue_tasks_application_id_idx')
  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({
    name: 'application_id',
    foreignKeyConstraintName: 'scan_queue_tasks_application_id_fkey',
  })
  application?: ApplicationEntity;

  /** Canonical display name of the scanner (e.g. "OWASP Zed Attack Proxy"). */
  @Column({ type: 'varchar', length: 100 })
  scanner!: string;

  @Column({ type: 'smallint' })
  status!: TaskStatus;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'start_time', type: 'timestamptz', nullable: true })
  startTime!: Date | null;

  @Column({ name: 'end_time', type: 'timestamptz', nullable: true })
  endTime!: Date | null;

  @Column({ name: 'timeout_seconds', type: 'int' })
  timeoutSeconds!: number;

  /** Claim time + timeoutSeconds; null until claimed. */
  @Column({ name: 'timeout_time', type: 'timestamptz', nullable: true })
  timeoutTime!: Date | null;

  @Column({ name: 'target_url', type: 'varchar', length: 255, nullable: true })
  targetUrl!: string | null;

  @Column({ name: 'scan_config_id', type: 'int', nullable: true })
  scanConfigId!: number | null;

  @ManyToOne(() => ScanConfigEntity, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'scan_config_id',
    foreignKeyConstraintName: 'scan_queue_tasks_scan_config_id_fkey',
  })
  scanConfig?: ScanConfigEntity | null;

  @Column({ name: 'secure_key_hash', type: 'char', length: 64, nullable: true })
  secureKeyHash!: string | null;

  @Index('scan_queue_tasks_scan_agent_id_idx')
  @Column({ name: 'scan_agent_id', type: 'int', nullable: true })
  scanAgentId!: number | null;

  @ManyToOne(() => ScanAgentEntity)
  @JoinColumn({
    name: 'scan_agent_id',
    foreignKeyConstraintName: 'scan_queue_tasks_scan_agent_id_fkey',
  })
  scanAgent?: ScanAgentEntity | null;

  /** The agentConfig text sent with the claim. */
  @Column({ name: 'scan_agent_info', type: 'text', nullable: true })
  scanAgentInfo!: string | null;

  /** Agent status messages posted so far: bounded by STATUS_MESSAGES_PER_TASK (task-transitions.repository.ts). */
  @Column({ name: 'status_messages', type: 'int', default: 0 })
  statusMessages!: number;

  @Column({ name: 'queued_by_api_key_id', type: 'int', nullable: true })
  queuedByApiKeyId!: number | null;

  @ManyToOne(() => ApiKeyEntity)
  @JoinColumn({
    name: 'queued_by_api_key_id',
    foreignKeyConstraintName: 'scan_queue_tasks_queued_by_api_key_id_fkey',
  })
  queuedBy?: ApiKeyEntity | null;

  /** Higher is claimed first (-100..100); equal priorities go oldest first. */
  @Column({ type: 'smallint', default: 0 })
  priority!: number;

  /** 1 for a task as queued; a retry is the task it retries' attempt + 1. */
  @Column({ type: 'smallint', default: 1 })
  attempt!: number;

  /** The retry policy in effect (task-retries.repository.ts): retries after the first attempt. */
  @Column({ name: 'retry_limit', type: 'smallint', default: 0 })
  retryLimit!: number;

  @Column({ name: 'retry_delay_seconds', type: 'int', default: 60 })
  retryDelaySeconds!: number;

  /** Whether the delay doubles with each attempt. */
  @Column({ name: 'retry_backoff', type: 'boolean', default: true })
  retryBackoff!: boolean;

  /** The failed or timed-out task this one retries. */
  @Column({ name: 'retry_of_task_id', type: 'int', nullable: true })
  retryOfTaskId!: number | null;

  @ManyToOne(() => ScanQueueTaskEntity)
  @JoinColumn({
    name: 'retry_of_task_id',
    foreignKeyConstraintName: 'scan_queue_tasks_retry_of_task_id_fkey',
  })
  retryOf?: ScanQueueTaskEntity | null;

  /** A retry is not claimed before this time (its backoff). */
  @Column({ name: 'not_before', type: 'timestamptz', nullable: true })
  notBefore!: Date | null;

  /** The claim or the latest agent call about the task: TASK_SILENCE_SECONDS counts from here. */
  @Column({ name: 'last_heard_at', type: 'timestamptz', nullable: true })
  lastHeardAt!: Date | null;
}

import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { ApplicationEntity } from '../applications/application.entity';
import { ScanConfigEntity } from '../scans/scan-config.entity';
import { ScanQueueTaskEntity } from '../tasks/scan-queue-task.entity';

export type WhenPending = 'skip' | 'queue';
export type RunOutcome = 'queued' | 'skipped' | 'failed';

/**
 * A recurring scan of an application (ThreadFix's ScheduledScan, spec §7): its due times come from
 * `cron_expression` in `timezone`; `next_run_at` is the next one, the column the scheduler's
 * `FOR UPDATE SKIP LOCKED` pick reads, so any number of instances fire each due time once.
 */
@Entity({ name: 'scheduled_scans' })
@Check('scheduled_scans_when_pending_check', `when_pending IN ('skip', 'queue')`)
// The scheduler's pick (schedules.repository.ts lockNextDue): enabled schedules by due time.
@Index('scheduled_scans_due_idx', ['nextRunAt'], { where: 'enabled' })
// An application's schedules, in id order (list, count).
@Index('scheduled_scans_application_id_id_idx', ['applicationId', 'id'])
export class ScheduledScanEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'application_id',
    foreignKeyConstraintName: 'scheduled_scans_application_id_fkey',
  })
  application?: ApplicationEntity;

  /** The scanner's shortName (scanner-types.ts), whatever alias the caller sent. */
  @Column({ type: 'varchar', length: 32 })
  scanner!: string;

  @Column({ name: 'cron_expression', type: 'varchar', length: 120 })
  cronExpression!: string;

  /** IANA name, always stored (ThreadFix used the server's zone and never said which). */
  @Column({ type: 'varchar', length: 64 })
  timezone!: string;

  /** ThreadFix's fields, when the schedule was given by them (null for a cron expression). */
  @Column({ type: 'varchar', length: 6, nullable: true })
  frequency!: string | null;

  @Column({ type: 'smallint', nullable: true })
  hour!: number | null;

  @Column({ type: 'smallint', nullable: true })
  minute!: number | null;

  @Column({ type: 'varchar', length: 2, nullable: true })
  period!: string | null;

  @Column({ type: 'varchar', length: 9, nullable: true })
  day!: string | null;

  @Column({ name: 'target_url', type: 'varchar', length: 255, nullable: true })
  targetUrl!: string | null;

  @Column({ name: 'scan_config_id', type: 'int', nullable: true })
  scanConfigId!: number | null;

  @ManyToOne(() => ScanConfigEntity, { onDelete: 'SET NULL' })
  @JoinColumn({
    name: 'scan_config_id',
    foreignKeyConstraintName: 'scheduled_scans_scan_config_id_fkey',
  })
  scanConfig?: ScanConfigEntity | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ name: 'when_pending', type: 'varchar', length: 5, default: 'skip' })
  whenPending!: WhenPending;

  /** For the tasks it queues (stored now; queueTask takes them once priorities and retries land). */
  @Column({ type: 'smallint', nullable: true })
  priority!: number | null;

  @Column({ name: 'retry_limit', type: 'smallint', nullable: true })
  retryLimit!: number | null;

  @Column({ name: 'retry_delay_seconds', type: 'int', nullable: true })
  retryDelaySeconds!: number | null;

  @Column({ name: 'retry_backoff', type: 'boolean', nullable: true })
  retryBackoff!: boolean | null;

  /** The next due time; null when the expression has none left. */
  @Column({ name: 'next_run_at', type: 'timestamptz', nullable: true })
  nextRunAt!: Date | null;

  @Column({ name: 'created_by_api_key_id', type: 'int', nullable: true })
  createdByApiKeyId!: number | null;

  @ManyToOne(() => ApiKeyEntity)
  @JoinColumn({
    name: 'created_by_api_key_id',
    foreignKeyConstraintName: 'scheduled_scans_created_by_api_key_id_fkey',
  })
  createdBy?: ApiKeyEntity | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/**
 * One due time of a schedule and what came of it. UNIQUE (schedule_id, due_at): a due time is
 * recorded, and so queued, at most once.
 */
@Entity({ name: 'scheduled_scan_runs' })
@Unique('scheduled_scan_runs_schedule_id_due_at_key', ['scheduleId', 'dueAt'])
@Check('scheduled_scan_runs_outcome_check', `outcome IN ('queued', 'skipped', 'failed')`)
// The skip policy's "a task of this schedule still QUEUED or ASSIGNED" (hasPendingTask).
@Index('scheduled_scan_runs_schedule_id_task_id_idx', ['scheduleId', 'taskId'], {
  where: 'task_id IS NOT NULL',
})
export class ScheduledScanRunEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'schedule_id', type: 'int' })
  scheduleId!: number;

  @ManyToOne(() => ScheduledScanEntity, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'schedule_id',
    foreignKeyConstraintName: 'scheduled_scan_runs_schedule_id_fkey',
  })
  schedule?: ScheduledScanEntity;

  @Column({ name: 'due_at', type: 'timestamptz' })
  dueAt!: Date;

  @CreateDateColumn({ name: 'fired_at', type: 'timestamptz' })
  firedAt!: Date;

  @Column({ type: 'varchar', length: 8 })
  outcome!: RunOutcome;

  @Column({ name: 'task_id', type: 'int', nullable: true })
  taskId!: number | null;

  @ManyToOne(() => ScanQueueTaskEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'scheduled_scan_runs_task_id_fkey' })
  task?: ScanQueueTaskEntity | null;

  @Column({ type: 'text' })
  message!: string;
}

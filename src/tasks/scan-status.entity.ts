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
import { ScanQueueTaskEntity } from './scan-queue-task.entity';
import { TaskStatus } from './task-status';

export type StatusActorType = 'api_key' | 'agent' | 'system';

/** One row of a task's status history: every transition and every agent status message. */
@Entity({ name: 'scan_statuses' })
@Check('scan_statuses_actor_type_check', `actor_type IN ('api_key', 'agent', 'system')`)
@Index('scan_statuses_task_id_id_idx', ['taskId', 'id'])
export class ScanStatusEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'task_id', type: 'int' })
  taskId!: number;

  @ManyToOne(() => ScanQueueTaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'scan_statuses_task_id_fkey' })
  task?: ScanQueueTaskEntity;

  @Column({ type: 'text' })
  message!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Both null for a plain status message; set for a transition. */
  @Column({ name: 'from_status', type: 'smallint', nullable: true })
  fromStatus!: TaskStatus | null;

  @Column({ name: 'to_status', type: 'smallint', nullable: true })
  toStatus!: TaskStatus | null;

  @Column({ name: 'actor_type', type: 'varchar', length: 16 })
  actorType!: StatusActorType;

  @Column({ name: 'actor_id', type: 'int', nullable: true })
  actorId!: number | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;
}

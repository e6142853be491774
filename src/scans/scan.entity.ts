import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { ScanQueueTaskEntity } from '../tasks/scan-queue-task.entity';

/** A scan result file stored for an application by a completed task. */
@Entity({ name: 'scans' })
// One scan per task: a repeated completeTask never stores twice.
@Unique('scans_task_id_key', ['taskId'])
export class ScanEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scans_application_id_idx')
  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({ name: 'application_id', foreignKeyConstraintName: 'scans_application_id_fkey' })
  application?: ApplicationEntity;

  @Column({ name: 'task_id', type: 'int' })
  taskId!: number;

  @ManyToOne(() => ScanQueueTaskEntity)
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'scans_task_id_fkey' })
  task?: ScanQueueTaskEntity;

  @Column({ type: 'varchar', length: 100 })
  scanner!: string;

  @Column({ name: 'original_filename', type: 'varchar', length: 255 })
  originalFilename!: string;

  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes!: string;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  @Column({ name: 'storage_key', type: 'varchar', length: 500 })
  storageKey!: string;

  @CreateDateColumn({ name: 'stored_at', type: 'timestamptz' })
  storedAt!: Date;
}

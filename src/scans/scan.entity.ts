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
} from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { ScanUploadEntity } from './scan-upload.entity';

/** A scan result file stored for an application by a completed task or a direct upload. */
@Entity({ name: 'scans' })
// One scan per task: a repeated completeTask never stores twice.
@Unique('scans_task_id_key', ['taskId'])
@Unique('scans_upload_id_key', ['uploadId'])
@Check('scans_source_check', '(task_id IS NULL) <> (upload_id IS NULL)')
export class ScanEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scans_application_id_idx')
  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({ name: 'application_id', foreignKeyConstraintName: 'scans_application_id_fkey' })
  application?: ApplicationEntity;

  /** The task whose completeTask stored it; null for a direct upload. */
  @Column({ name: 'task_id', type: 'int', nullable: true })
  taskId!: number | null;

  // By the entity's name: tasks sit above scans in the module graph (the relation only declares the key).
  @ManyToOne('ScanQueueTaskEntity')
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'scans_task_id_fkey' })
  task?: unknown;

  /** The direct upload (ThreadFix's pending scan) that stored it; null for a task's scan. */
  @Column({ name: 'upload_id', type: 'int', nullable: true })
  uploadId!: number | null;

  @ManyToOne(() => ScanUploadEntity)
  @JoinColumn({ name: 'upload_id', foreignKeyConstraintName: 'scans_upload_id_fkey' })
  upload?: ScanUploadEntity;

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

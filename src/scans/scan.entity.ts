import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A scan result file stored for an application by a completed task. */
@Entity({ name: 'scans' })
export class ScanEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scans_application_id_idx')
  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  /** One scan per task: a repeated completeTask never imports twice. */
  @Index('scans_task_id_key', { unique: true })
  @Column({ name: 'task_id', type: 'int' })
  taskId!: number;

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

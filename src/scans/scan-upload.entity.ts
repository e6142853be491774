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
import type { ImportPhase } from './import-phase';

/**
 * A scan file uploaded directly (ThreadFix's `POST /applications/{id}/upload`, no agent): who sent
 * it and when. Its id is ThreadFix's pending-scan id; its scan row (scans.upload_id) is written in
 * the same transaction, so an upload always has its scan and its import run.
 */
@Entity({ name: 'scan_uploads' })
export class ScanUploadEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('scan_uploads_application_id_idx')
  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({
    name: 'application_id',
    foreignKeyConstraintName: 'scan_uploads_application_id_fkey',
  })
  application?: ApplicationEntity;

  /** The API key that uploaded it. */
  @Column({ name: 'api_key_id', type: 'int' })
  apiKeyId!: number;

  @ManyToOne(() => ApiKeyEntity)
  @JoinColumn({ name: 'api_key_id', foreignKeyConstraintName: 'scan_uploads_api_key_id_fkey' })
  apiKey?: ApiKeyEntity;

  @Column({ name: 'original_filename', type: 'varchar', length: 255 })
  originalFilename!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export type UploadActorType = 'api_key' | 'system';

/** One step of an upload's history: its arrival (who, when) and each phase of its import. */
@Entity({ name: 'scan_upload_history' })
// The import phases (import-phase.ts), as scan_imports holds them.
@Check(
  'scan_upload_history_phase_check',
  `phase IN ('queued', 'parsing', 'merging', 'done', 'failed')`,
)
@Check('scan_upload_history_actor_type_check', `actor_type IN ('api_key', 'system')`)
@Index('scan_upload_history_upload_id_id_idx', ['uploadId', 'id'])
export class ScanUploadHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'upload_id', type: 'int' })
  uploadId!: number;

  @ManyToOne(() => ScanUploadEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'upload_id', foreignKeyConstraintName: 'scan_upload_history_upload_id_fkey' })
  upload?: ScanUploadEntity;

  /** The import phase the upload entered (queued: the file is stored and its import waits). */
  @Column({ type: 'varchar', length: 16 })
  phase!: ImportPhase;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'actor_type', type: 'varchar', length: 16 })
  actorType!: UploadActorType;

  @Column({ name: 'actor_id', type: 'int', nullable: true })
  actorId!: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

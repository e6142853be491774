import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { ApplicationEntity } from '../applications/application.entity';

/**
 * An application's scan-agent config for one scanner (ThreadFix's `<short>.scanagtcfg` Document).
 * setTaskConfig replaces it; the bytes are small (MAX_CONFIG_BYTES) and shipped base64 at claim.
 */
@Entity({ name: 'scan_configs' })
@Unique('scan_configs_application_id_scanner_key', ['applicationId', 'scannerShortName'])
export class ScanConfigEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({
    name: 'application_id',
    foreignKeyConstraintName: 'scan_configs_application_id_fkey',
  })
  application?: ApplicationEntity;

  @Column({ name: 'scanner_short_name', type: 'varchar', length: 32 })
  scannerShortName!: string;

  @Column({ name: 'content_type', type: 'varchar', length: 100 })
  contentType!: string;

  @Column({ type: 'bytea' })
  content!: Buffer;

  @Column({ name: 'uploaded_at', type: 'timestamptz' })
  uploadedAt!: Date;

  /** The uploaded file's name, as information (null for configs set before it was kept). */
  @Column({ name: 'original_filename', type: 'varchar', length: 255, nullable: true })
  originalFilename!: string | null;

  @Column({ name: 'size_bytes', type: 'int' })
  sizeBytes!: number;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  /** When the application first had a config for the scanner; `uploadedAt` is the latest upload. */
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'uploaded_by_api_key_id', type: 'int', nullable: true })
  uploadedByApiKeyId!: number | null;

  @ManyToOne(() => ApiKeyEntity)
  @JoinColumn({
    name: 'uploaded_by_api_key_id',
    foreignKeyConstraintName: 'scan_configs_uploaded_by_api_key_id_fkey',
  })
  uploadedBy?: ApiKeyEntity | null;
}

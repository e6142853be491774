import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * An application's scan-agent config for one scanner (ThreadFix's `<short>.scanagtcfg` Document).
 * setTaskConfig replaces it; the bytes are small (MAX_CONFIG_BYTES) and shipped base64 at claim.
 */
@Entity({ name: 'scan_configs' })
@Index('scan_configs_application_id_scanner_key', ['applicationId', 'scannerShortName'], {
  unique: true,
})
export class ScanConfigEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @Column({ name: 'scanner_short_name', type: 'varchar', length: 32 })
  scannerShortName!: string;

  @Column({ name: 'content_type', type: 'varchar', length: 100 })
  contentType!: string;

  @Column({ type: 'bytea' })
  content!: Buffer;

  @Column({ name: 'uploaded_at', type: 'timestamptz' })
  uploadedAt!: Date;
}

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
import type { ImportPhase } from '../scans/import-phase';
import { ScanEntity } from '../scans/scan.entity';

/** The import of one scan's findings into its application's vulnerabilities. */
@Entity({ name: 'scan_imports' })
// One import per scan: a scan's findings are merged once.
@Unique('scan_imports_scan_id_key', ['scanId'])
@Check('scan_imports_phase_check', `phase IN ('queued', 'parsing', 'merging', 'done', 'failed')`)
// The claim (scan-imports.repository.ts claimNextImport): the oldest unfinished import of each application.
@Index('scan_imports_unfinished_idx', ['applicationId', 'scanId'], {
  where: `phase IN ('queued', 'parsing', 'merging')`,
})
// The merge's duplicate check (scan-imports.repository.ts previousMergedScans).
@Index('scan_imports_merged_idx', ['applicationId', 'scanner', 'scanId'], {
  where: `phase = 'done'`,
})
export class ScanImportEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'scan_id', type: 'int' })
  scanId!: number;

  @ManyToOne(() => ScanEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'scan_id', foreignKeyConstraintName: 'scan_imports_scan_id_fkey' })
  scan?: ScanEntity;

  @Column({ name: 'application_id', type: 'int' })
  applicationId!: number;

  @ManyToOne(() => ApplicationEntity)
  @JoinColumn({
    name: 'application_id',
    foreignKeyConstraintName: 'scan_imports_application_id_fkey',
  })
  application?: ApplicationEntity;

  /** The scanner's shortName (zap, burp, …): the parser to use and the vulnerabilities' scanner. */
  @Column({ type: 'varchar', length: 32 })
  scanner!: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  phase!: ImportPhase;

  /** Claims so far; also the fencing token every write of a run is guarded by. */
  @Column({ type: 'int', default: 0 })
  attempts!: number;

  /** Finding rows the report held. */
  @Column({ name: 'findings_count', type: 'int', default: 0 })
  findingsCount!: number;

  /** The next four count distinct fingerprints (vulnerabilities), not finding rows. */
  @Column({ name: 'new_count', type: 'int', default: 0 })
  newCount!: number;

  @Column({ name: 'still_present_count', type: 'int', default: 0 })
  stillPresentCount!: number;

  @Column({ name: 'reopened_count', type: 'int', default: 0 })
  reopenedCount!: number;

  @Column({ name: 'fixed_count', type: 'int', default: 0 })
  fixedCount!: number;

  /** Set when the file is identical to the newest merged scan of the same scanner: nothing merged. */
  @Column({ name: 'duplicate_of_scan_id', type: 'int', nullable: true })
  duplicateOfScanId!: number | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** INSTANCE_ID of the instance running it (null while queued). */
  @Column({ name: 'owner_instance', type: 'varchar', length: 64, nullable: true })
  ownerInstance!: string | null;

  /** Renewed while it runs; an older heartbeat than the lease means its instance died. */
  @Column({ name: 'heartbeat_at', type: 'timestamptz', nullable: true })
  heartbeatAt!: Date | null;

  @CreateDateColumn({ name: 'queued_at', type: 'timestamptz' })
  queuedAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}

import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ScanEntity } from '../scans/scan.entity';
import type { Severity } from '../scans/formats';

/** One normalized finding of a scan's report, in report order. */
@Entity({ name: 'findings' })
@Check('findings_severity_check', `severity IN ('critical', 'high', 'medium', 'low', 'info')`)
// A scan's findings page (ORDER BY id) and the merge's distinct fingerprints of one scan.
@Index('findings_scan_id_id_idx', ['scanId', 'id'])
// The merge's "fixed" step (scan-imports.repository.ts mergeScanFindings).
@Index('findings_scan_id_fingerprint_idx', ['scanId', 'fingerprint'])
export class FindingEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'scan_id', type: 'int' })
  scanId!: number;

  @ManyToOne(() => ScanEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'scan_id', foreignKeyConstraintName: 'findings_scan_id_fkey' })
  scan?: ScanEntity;

  @Column({ type: 'varchar', length: 32 })
  scanner!: string;

  @Column({ name: 'rule_id', type: 'text' })
  ruleId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'varchar', length: 8 })
  severity!: Severity;

  @Column({ type: 'int', nullable: true })
  cwe!: number | null;

  @Column({ type: 'text', nullable: true })
  url!: string | null;

  @Column({ type: 'text', nullable: true })
  path!: string | null;

  @Column({ type: 'text', nullable: true })
  parameter!: string | null;

  @Column({ type: 'text', nullable: true })
  evidence!: string | null;

  @Column({ type: 'char', length: 64 })
  fingerprint!: string;
}

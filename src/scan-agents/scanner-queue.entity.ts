import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A scanner's queue that an admin paused at least once (no row: an open queue). */
@Entity({ name: 'scanner_queues' })
export class ScannerQueueEntity {
  /** The scanner's display name, as tasks store it. */
  @PrimaryColumn({ type: 'varchar', length: 100, primaryKeyConstraintName: 'scanner_queues_pkey' })
  scanner!: string;

  /** Set while the queue is paused: its tasks wait, none is handed out. */
  @Column({ name: 'paused_at', type: 'timestamptz', nullable: true })
  pausedAt!: Date | null;

  @Column({ name: 'changed_at', type: 'timestamptz', default: () => 'now()' })
  changedAt!: Date;
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fleet control (issue 14, item 5; src/scan-agents): an agent can be paused (it keeps its key and
 * is answered "No task found."), remembers the scanners it asked for in its latest requestTask,
 * and a scanner's queue can be paused (its tasks wait). A scanner_queues row exists once a queue
 * was first paused; no row is an open queue.
 */
export class FleetControl1765700000000 implements MigrationInterface {
  name = 'FleetControl1765700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE scan_agents ADD COLUMN paused_at timestamptz`);
    await q.query(`ALTER TABLE scan_agents ADD COLUMN last_scanners text array`);
    await q.query(`
      CREATE TABLE scanner_queues (
        scanner varchar(100) NOT NULL,
        paused_at timestamptz,
        changed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scanner_queues_pkey PRIMARY KEY (scanner)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scanner_queues`);
    await q.query(`ALTER TABLE scan_agents DROP COLUMN last_scanners`);
    await q.query(`ALTER TABLE scan_agents DROP COLUMN paused_at`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tasks' lifecycle (issue 14): priority, the retry policy each task carries and its attempt
 * chain, the earliest claim time of a retry, and the last time its agent was heard about it.
 * The claim's two partial indexes now hold queued tasks in claim order (priority DESC, id); the
 * reaper gets one index for QUEUED expiry and one for silent ASSIGNED tasks.
 */
export class TaskLifecycle1765500000000 implements MigrationInterface {
  name = 'TaskLifecycle1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE scan_queue_tasks
        ADD COLUMN priority smallint NOT NULL DEFAULT 0
          CONSTRAINT scan_queue_tasks_priority_check CHECK (priority BETWEEN -100 AND 100),
        ADD COLUMN attempt smallint NOT NULL DEFAULT 1
          CONSTRAINT scan_queue_tasks_attempt_check CHECK (attempt >= 1),
        ADD COLUMN retry_limit smallint NOT NULL DEFAULT 0
          CONSTRAINT scan_queue_tasks_retry_limit_check CHECK (retry_limit BETWEEN 0 AND 20),
        ADD COLUMN retry_delay_seconds int NOT NULL DEFAULT 60
          CONSTRAINT scan_queue_tasks_retry_delay_seconds_check CHECK (retry_delay_seconds BETWEEN 0 AND 86400),
        ADD COLUMN retry_backoff boolean NOT NULL DEFAULT true,
        ADD COLUMN retry_of_task_id int
          CONSTRAINT scan_queue_tasks_retry_of_task_id_fkey REFERENCES scan_queue_tasks (id),
        ADD COLUMN not_before timestamptz,
        ADD COLUMN last_heard_at timestamptz`);
    // Claimed tasks so far were heard of when claimed.
    await q.query(`UPDATE scan_queue_tasks SET last_heard_at = start_time WHERE status = 2`);
    await q.query(`DROP INDEX scan_queue_tasks_queued_idx`);
    await q.query(`DROP INDEX scan_queue_tasks_claimable_idx`);
    await q.query(
      `CREATE INDEX scan_queue_tasks_queued_idx ON scan_queue_tasks (priority DESC, id) WHERE status = 1 AND active`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_claimable_idx ON scan_queue_tasks (scanner, priority DESC, id) WHERE status = 1 AND active`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_expiry_idx ON scan_queue_tasks ((coalesce(not_before, created_at))) WHERE status = 1`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_silence_idx ON scan_queue_tasks (last_heard_at) WHERE status = 2`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX scan_queue_tasks_silence_idx`);
    await q.query(`DROP INDEX scan_queue_tasks_expiry_idx`);
    await q.query(`DROP INDEX scan_queue_tasks_claimable_idx`);
    await q.query(`DROP INDEX scan_queue_tasks_queued_idx`);
    await q.query(
      `CREATE INDEX scan_queue_tasks_claimable_idx ON scan_queue_tasks (scanner, id) WHERE status = 1 AND active`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_queued_idx ON scan_queue_tasks (id) WHERE status = 1 AND active`,
    );
    await q.query(`
      ALTER TABLE scan_queue_tasks
        DROP COLUMN last_heard_at, DROP COLUMN not_before, DROP COLUMN retry_of_task_id,
        DROP COLUMN retry_backoff, DROP COLUMN retry_delay_seconds, DROP COLUMN retry_limit,
        DROP COLUMN attempt, DROP COLUMN priority`);
  }
}

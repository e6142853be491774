import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduled scans (issue 14): schedules with their next due time, and one row per due time fired
 * (UNIQUE: a due time is queued at most once). Removing an application removes its schedules.
 */
export class ScheduledScans1765600000000 implements MigrationInterface {
  name = 'ScheduledScans1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE scheduled_scans (
        id serial PRIMARY KEY,
        application_id int NOT NULL,
        scanner varchar(32) NOT NULL,
        cron_expression varchar(120) NOT NULL,
        timezone varchar(64) NOT NULL,
        frequency varchar(6),
        hour smallint,
        minute smallint,
        period varchar(2),
        day varchar(9),
        target_url varchar(255),
        scan_config_id int,
        enabled boolean NOT NULL DEFAULT true,
        when_pending varchar(5) NOT NULL DEFAULT 'skip',
        priority smallint,
        retry_limit smallint,
        retry_delay_seconds int,
        retry_backoff boolean,
        next_run_at timestamptz,
        created_by_api_key_id int,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scheduled_scans_when_pending_check CHECK (when_pending IN ('skip', 'queue')),
        CONSTRAINT scheduled_scans_application_id_fkey FOREIGN KEY (application_id) REFERENCES applications (id) ON DELETE CASCADE,
        CONSTRAINT scheduled_scans_scan_config_id_fkey FOREIGN KEY (scan_config_id) REFERENCES scan_configs (id) ON DELETE SET NULL,
        CONSTRAINT scheduled_scans_created_by_api_key_id_fkey FOREIGN KEY (created_by_api_key_id) REFERENCES api_keys (id)
      )`);
    // The scheduler's pick (schedules.repository.ts lockNextDue): enabled schedules by due time.
    await q.query(
      `CREATE INDEX scheduled_scans_due_idx ON scheduled_scans (next_run_at) WHERE enabled`,
    );
    // An application's schedules in id order (list, count against SCHEDULES_PER_APPLICATION).
    await q.query(
      `CREATE INDEX scheduled_scans_application_id_id_idx ON scheduled_scans (application_id, id)`,
    );
    await q.query(`
      CREATE TABLE scheduled_scan_runs (
        id bigserial PRIMARY KEY,
        schedule_id int NOT NULL,
        due_at timestamptz NOT NULL,
        fired_at timestamptz NOT NULL DEFAULT now(),
        outcome varchar(8) NOT NULL,
        task_id int,
        message text NOT NULL,
        -- A due time is recorded (and so queued) once; also a schedule's runs by due time.
        CONSTRAINT scheduled_scan_runs_schedule_id_due_at_key UNIQUE (schedule_id, due_at),
        CONSTRAINT scheduled_scan_runs_outcome_check CHECK (outcome IN ('queued', 'skipped', 'failed')),
        CONSTRAINT scheduled_scan_runs_schedule_id_fkey FOREIGN KEY (schedule_id) REFERENCES scheduled_scans (id) ON DELETE CASCADE,
        CONSTRAINT scheduled_scan_runs_task_id_fkey FOREIGN KEY (task_id) REFERENCES scan_queue_tasks (id) ON DELETE SET NULL
      )`);
    // The skip policy (schedules.repository.ts hasPendingTask): the tasks a schedule queued.
    await q.query(
      `CREATE INDEX scheduled_scan_runs_schedule_id_task_id_idx ON scheduled_scan_runs (schedule_id, task_id) WHERE task_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE scheduled_scan_runs`);
    await q.query(`DROP TABLE scheduled_scans`);
  }
}

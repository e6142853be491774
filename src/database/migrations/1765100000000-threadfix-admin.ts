import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ThreadFix's admin API around the queue (issue 16): applications get ThreadFix's unique id and
 * criticality; a scan can come from a direct upload (a person or a CI job, no agent) as well as
 * from a task, and such an upload has its own row (ThreadFix's "pending scan", whose id the
 * pending-scan status takes) and history. docs/threadfix-compatibility.md.
 */
export class ThreadFixAdmin1765100000000 implements MigrationInterface {
  name = 'ThreadFixAdmin1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE applications ADD COLUMN unique_id varchar(255)`);
    // ThreadFix's ApplicationCriticality ids: 1 Low (the default), 2 Medium, 3 High, 4 Critical.
    await q.query(`ALTER TABLE applications ADD COLUMN criticality smallint NOT NULL DEFAULT 1`);
    await q.query(
      `ALTER TABLE applications ADD CONSTRAINT applications_criticality_check CHECK (criticality BETWEEN 1 AND 4)`,
    );
    // The lookup by uniqueId within a team (threadfix-applications.service.ts lookup).
    await q.query(
      `CREATE INDEX applications_team_id_unique_id_idx ON applications (team_id, unique_id)`,
    );

    await q.query(`
      CREATE TABLE scan_uploads (
        id serial PRIMARY KEY,
        application_id int NOT NULL,
        api_key_id int NOT NULL,
        original_filename varchar(255) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scan_uploads_application_id_fkey FOREIGN KEY (application_id) REFERENCES applications (id),
        CONSTRAINT scan_uploads_api_key_id_fkey FOREIGN KEY (api_key_id) REFERENCES api_keys (id)
      )`);
    // The pending-scan status: an upload of one application (its id and the application's).
    await q.query(`CREATE INDEX scan_uploads_application_id_idx ON scan_uploads (application_id)`);
    await q.query(`
      CREATE TABLE scan_upload_history (
        id bigserial PRIMARY KEY,
        upload_id int NOT NULL,
        phase varchar(16) NOT NULL,
        message text NOT NULL,
        actor_type varchar(16) NOT NULL,
        actor_id int,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scan_upload_history_phase_check CHECK (phase IN ('queued', 'parsing', 'merging', 'done', 'failed')),
        CONSTRAINT scan_upload_history_actor_type_check CHECK (actor_type IN ('api_key', 'system')),
        CONSTRAINT scan_upload_history_upload_id_fkey FOREIGN KEY (upload_id) REFERENCES scan_uploads (id) ON DELETE CASCADE
      )`);
    // An upload's history in order (the pending-scan status reads its latest row).
    await q.query(
      `CREATE INDEX scan_upload_history_upload_id_id_idx ON scan_upload_history (upload_id, id)`,
    );

    // A scan comes from exactly one of: a task's completeTask, or a direct upload.
    await q.query(`ALTER TABLE scans ALTER COLUMN task_id DROP NOT NULL`);
    await q.query(`ALTER TABLE scans ADD COLUMN upload_id int`);
    await q.query(`ALTER TABLE scans ADD CONSTRAINT scans_upload_id_key UNIQUE (upload_id)`);
    await q.query(
      `ALTER TABLE scans ADD CONSTRAINT scans_upload_id_fkey FOREIGN KEY (upload_id) REFERENCES scan_uploads (id)`,
    );
    await q.query(
      `ALTER TABLE scans ADD CONSTRAINT scans_source_check CHECK ((task_id IS NULL) <> (upload_id IS NULL))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Uploaded scans have no task: they (and their imports, findings) go with the upload tables.
    await q.query(`DELETE FROM scans WHERE upload_id IS NOT NULL`);
    await q.query(`ALTER TABLE scans DROP CONSTRAINT scans_source_check`);
    await q.query(`ALTER TABLE scans DROP CONSTRAINT scans_upload_id_fkey`);
    await q.query(`ALTER TABLE scans DROP CONSTRAINT scans_upload_id_key`);
    await q.query(`ALTER TABLE scans DROP COLUMN upload_id`);
    await q.query(`ALTER TABLE scans ALTER COLUMN task_id SET NOT NULL`);
    await q.query(`DROP TABLE scan_upload_history`);
    await q.query(`DROP TABLE scan_uploads`);
    await q.query(`DROP INDEX applications_team_id_unique_id_idx`);
    await q.query(`ALTER TABLE applications DROP CONSTRAINT applications_criticality_check`);
    await q.query(`ALTER TABLE applications DROP COLUMN criticality`);
    await q.query(`ALTER TABLE applications DROP COLUMN unique_id`);
  }
}

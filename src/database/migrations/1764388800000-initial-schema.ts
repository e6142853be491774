import { MigrationInterface, QueryRunner } from 'typeorm';

/** The whole first schema. Indexes name the query they serve. */
export class InitialSchema1764388800000 implements MigrationInterface {
  name = 'InitialSchema1764388800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id serial PRIMARY KEY,
        name varchar(100) NOT NULL,
        key_hash char(64) NOT NULL,
        permissions text[] NOT NULL DEFAULT '{}',
        restricted boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
      )`);
    await q.query(`
      CREATE TABLE applications (
        id serial PRIMARY KEY,
        name varchar(255) NOT NULL,
        url varchar(255),
        description text,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX applications_lower_name_key ON applications (lower(name))`);
    await q.query(`
      CREATE TABLE scan_agents (
        id serial PRIMARY KEY,
        key_hash char(64) NOT NULL,
        api_key_id int NOT NULL REFERENCES api_keys (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz,
        last_agent_config text,
        revoked_at timestamptz,
        CONSTRAINT scan_agents_key_hash_key UNIQUE (key_hash)
      )`);
    await q.query(`
      CREATE TABLE scan_configs (
        id serial PRIMARY KEY,
        application_id int NOT NULL REFERENCES applications (id),
        scanner_short_name varchar(32) NOT NULL,
        content_type varchar(100) NOT NULL,
        content bytea NOT NULL,
        uploaded_at timestamptz NOT NULL,
        CONSTRAINT scan_configs_application_id_scanner_key UNIQUE (application_id, scanner_short_name)
      )`);
    await q.query(`
      CREATE TABLE scan_queue_tasks (
        id serial PRIMARY KEY,
        application_id int NOT NULL REFERENCES applications (id),
        scanner varchar(100) NOT NULL,
        status smallint NOT NULL CHECK (status BETWEEN 1 AND 7),
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        start_time timestamptz,
        end_time timestamptz,
        timeout_seconds int NOT NULL CHECK (timeout_seconds > 0),
        timeout_time timestamptz,
        target_url varchar(255),
        scan_config_id int REFERENCES scan_configs (id) ON DELETE SET NULL,
        secure_key_hash char(64),
        scan_agent_id int REFERENCES scan_agents (id),
        scan_agent_info text,
        queued_by_api_key_id int REFERENCES api_keys (id)
      )`);
    // The claim: FIFO among active QUEUED tasks of the agent's scanners (task-transitions.ts).
    await q.query(
      `CREATE INDEX scan_queue_tasks_claimable_idx ON scan_queue_tasks (scanner, id) WHERE status = 1 AND active`,
    );
    // The reaper: ASSIGNED tasks past their timeout (task-transitions.ts).
    await q.query(
      `CREATE INDEX scan_queue_tasks_overdue_idx ON scan_queue_tasks (timeout_time) WHERE status = 2`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_application_id_idx ON scan_queue_tasks (application_id)`,
    );
    await q.query(
      `CREATE INDEX scan_queue_tasks_scan_agent_id_idx ON scan_queue_tasks (scan_agent_id)`,
    );
    await q.query(`
      CREATE TABLE scan_statuses (
        id bigserial PRIMARY KEY,
        task_id int NOT NULL REFERENCES scan_queue_tasks (id) ON DELETE CASCADE,
        message text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        from_status smallint,
        to_status smallint,
        actor_type varchar(16) NOT NULL CHECK (actor_type IN ('api_key', 'agent', 'system')),
        actor_id int,
        active boolean NOT NULL DEFAULT true
      )`);
    // A task's history in order (task JSON, admin detail).
    await q.query(`CREATE INDEX scan_statuses_task_id_id_idx ON scan_statuses (task_id, id)`);
    await q.query(`
      CREATE TABLE scans (
        id serial PRIMARY KEY,
        application_id int NOT NULL REFERENCES applications (id),
        task_id int NOT NULL REFERENCES scan_queue_tasks (id),
        scanner varchar(100) NOT NULL,
        original_filename varchar(255) NOT NULL,
        size_bytes bigint NOT NULL,
        sha256 char(64) NOT NULL,
        storage_key varchar(500) NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT scans_task_id_key UNIQUE (task_id)
      )`);
    await q.query(`CREATE INDEX scans_application_id_idx ON scans (application_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'scans',
      'scan_statuses',
      'scan_queue_tasks',
      'scan_configs',
      'scan_agents',
      'applications',
      'api_keys',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}

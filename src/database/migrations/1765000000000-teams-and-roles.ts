import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Teams and least privilege (issues 12 and 16). Every application moves into a default team; API
 * keys can be limited to teams; the agent and queue-admin roles are split out of
 * CAN_MANAGE_SCAN_AGENTS without taking anything from existing keys (docs/security.md):
 * - a key with CAN_MANAGE_SCAN_AGENTS also gets CAN_MANAGE_SCAN_QUEUE and READ_ACCESS (it could
 *   cancel, revoke agents and read scans before);
 * - a key that held every permission of the old set gets every new one (a full admin stays one).
 */
export class TeamsAndRoles1765000000000 implements MigrationInterface {
  name = 'TeamsAndRoles1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE teams (
        id serial PRIMARY KEY,
        name varchar(60) NOT NULL,
        active boolean NOT NULL DEFAULT true,
        is_default boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT teams_name_key UNIQUE (name)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX teams_one_default_key ON teams (is_default) WHERE is_default`,
    );
    await q.query(`INSERT INTO teams (name, is_default) VALUES ('Default Team', true)`);

    await q.query(`ALTER TABLE applications ADD COLUMN team_id int`);
    await q.query(`UPDATE applications SET team_id = (SELECT id FROM teams WHERE is_default)`);
    await q.query(`ALTER TABLE applications ALTER COLUMN team_id SET NOT NULL`);
    await q.query(
      `ALTER TABLE applications ADD CONSTRAINT applications_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id)`,
    );
    // ThreadFix looks applications up by team and name; names are unique within a team.
    await q.query(`DROP INDEX applications_lower_name_key`);
    await q.query(
      `CREATE UNIQUE INDEX applications_team_lower_name_key ON applications (team_id, lower(name))`,
    );

    await q.query(`ALTER TABLE api_keys ADD COLUMN team_ids int[]`);
    await q.query(`
      UPDATE api_keys SET permissions = ARRAY[
        'CAN_RUN_SCAN_AGENT', 'CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_SCAN_QUEUE',
        'CAN_MANAGE_APPLICATIONS', 'CAN_MANAGE_TEAMS', 'CAN_UPLOAD_SCANS', 'CAN_MANAGE_API_KEYS',
        'READ_ACCESS']
      WHERE permissions @> ARRAY['CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_APPLICATIONS',
                                 'CAN_MANAGE_API_KEYS', 'READ_ACCESS']`);
    await q.query(`
      UPDATE api_keys
      SET permissions = ARRAY(SELECT DISTINCT unnest(permissions || ARRAY['CAN_MANAGE_SCAN_QUEUE', 'READ_ACCESS']) ORDER BY 1)
      WHERE 'CAN_MANAGE_SCAN_AGENTS' = ANY(permissions)
        AND NOT permissions @> ARRAY['CAN_MANAGE_SCAN_QUEUE', 'READ_ACCESS']`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE api_keys SET permissions = ARRAY(
        SELECT p FROM unnest(permissions) AS p
        WHERE p IN ('CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_APPLICATIONS', 'CAN_MANAGE_API_KEYS', 'READ_ACCESS'))`);
    await q.query(`ALTER TABLE api_keys DROP COLUMN team_ids`);
    await q.query(`DROP INDEX applications_team_lower_name_key`);
    await q.query(`CREATE UNIQUE INDEX applications_lower_name_key ON applications (lower(name))`);
    await q.query(`ALTER TABLE applications DROP CONSTRAINT applications_team_id_fkey`);
    await q.query(`ALTER TABLE applications DROP COLUMN team_id`);
    await q.query(`DROP TABLE teams`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Least privilege, the domain half (issue 12; docs/security.md):
 * - scan_queue_tasks.status_messages counts each task's agent status messages, so that
 *   STATUS_MESSAGES_PER_TASK is checked in the statement that appends one (task-transitions.ts),
 *   without counting history rows; existing tasks start from what they hold;
 * - an agent key now dies with the API key that issued it: agents of keys revoked before this
 *   release are revoked as well (with their key's revocation time).
 */
export class AgentBounds1765300000000 implements MigrationInterface {
  name = 'AgentBounds1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE scan_queue_tasks ADD COLUMN status_messages int NOT NULL DEFAULT 0`);
    await q.query(`
      UPDATE scan_queue_tasks t SET status_messages = m.count
      FROM (SELECT task_id, count(*)::int AS count FROM scan_statuses
            WHERE actor_type = 'agent' AND from_status IS NULL AND to_status IS NULL
            GROUP BY task_id) m
      WHERE m.task_id = t.id`);
    await q.query(`
      UPDATE scan_agents a SET revoked_at = k.revoked_at
      FROM api_keys k
      WHERE k.id = a.api_key_id AND k.revoked_at IS NOT NULL AND a.revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The agents revoked with their keys stay revoked: their keys are.
    await q.query(`ALTER TABLE scan_queue_tasks DROP COLUMN status_messages`);
  }
}

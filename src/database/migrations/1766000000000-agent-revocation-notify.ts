import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agent-key cache invalidation across instances (issue 15; src/scan-agents/agent-key-cache.ts):
 * every agent whose key is revoked, un-revoked or deleted, by any code path (an agent revoke, its
 * API key's revoke, raw SQL), sends a NOTIFY on `scanqueue_agent_changed` with its id, at commit.
 * Each instance drops that agent from its cache, so a cached agent key can be trusted for long
 * while the LISTEN connection stands (and only for API_KEY_CACHE_SECONDS while it does not).
 */
export class AgentRevocationNotify1766000000000 implements MigrationInterface {
  name = 'AgentRevocationNotify1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION scan_agents_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('scanqueue_agent_changed', json_build_object('agentId', OLD.id)::text);
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER scan_agents_notify_revoked
      AFTER UPDATE OF revoked_at ON scan_agents
      FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
      EXECUTE FUNCTION scan_agents_notify_changed()`);
    await q.query(`
      CREATE TRIGGER scan_agents_notify_deleted
      AFTER DELETE ON scan_agents
      FOR EACH ROW EXECUTE FUNCTION scan_agents_notify_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER scan_agents_notify_deleted ON scan_agents`);
    await q.query(`DROP TRIGGER scan_agents_notify_revoked ON scan_agents`);
    await q.query(`DROP FUNCTION scan_agents_notify_changed()`);
  }
}

/**
 * All SQL of scan agents: their keys' rows, the usable-agent and paused-agent checks other
 * statements embed, liveness, pausing, and the scoped admin view.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { agentEventType, claimableAgainSql, fleetOutboxInsert } from './fleet-events';

/** The agent an agent key belongs to, as the protocol's checks need it. */
export interface AgentRow {
  id: number;
  api_key_id: number;
  key_hash: string;
}

/**
 * SQL: the agent `a` is usable with the API key `$apiKeyParam`: issued by it, neither revoked. The
 * API key's own check covers a key revoked on another instance while this one still caches it.
 */
export function agentUsableSql(apiKeyParam: string, agent = 'a'): string {
  return `${agent}.revoked_at IS NULL AND ${agent}.api_key_id = ${apiKeyParam}
    AND EXISTS (SELECT 1 FROM api_keys issuer WHERE issuer.id = ${agent}.api_key_id AND issuer.revoked_at IS NULL)`;
}

/**
 * SQL: the agent `a` is paused (the claim answers it "No task found." and hands out nothing; its key
 * and the tasks it holds work as before).
 */
export function agentPausedSql(agent = 'a'): string {
  return `${agent}.paused_at IS NOT NULL`;
}

/** An agent as the admin view shows it: its row, whether it is online, and the task it holds. */
export interface FleetAgentRow {
  id: number;
  api_key_id: number;
  created_at: Date;
  last_seen_at: Date | null;
  last_agent_config: string | null;
  last_scanners: string[] | null;
  revoked_at: Date | null;
  paused_at: Date | null;
  online: boolean;
  current_task_id: number | null;
}

/** What a pause or resume found: the agent (in scope) and whether it changed. */
export interface PauseOutcome {
  found: boolean;
  changed: boolean;
}

/** scan_queue_tasks.status of an ASSIGNED task (tasks/task-status.ts, which this module cannot import). */
const ASSIGNED = 2;

/**
 * The agents a scope may see and revoke: those issued by API keys whose teams lie within the
 * scope's (an unscoped key sees every agent). An agent of a wider key can claim other teams' tasks,
 * and its host details are theirs too.
 */
const AGENTS_IN_SCOPE = `$1::int[] IS NULL OR EXISTS (
    SELECT 1 FROM api_keys issuer
    WHERE issuer.id = a.api_key_id AND issuer.team_ids IS NOT NULL AND issuer.team_ids <@ $1::int[])`;

@Injectable()
export class ScanAgentsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A new agent of the API key, unless that key is revoked (false then). */
  async insertForApiKey(keyHash: string, apiKeyId: number): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO scan_agents (key_hash, api_key_id)
       SELECT $1, id FROM api_keys WHERE id = $2 AND revoked_at IS NULL
       RETURNING id`,
      [keyHash, apiKeyId],
    );
    return rows.length > 0;
  }

  /** The usable agent of this key hash and API key. */
  async findUsable(
    keyHash: string,
    apiKeyId: number,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<AgentRow | undefined> {
    const rows: AgentRow[] = await tx.query(
      `SELECT a.id, a.api_key_id, a.key_hash FROM scan_agents a
       WHERE a.key_hash = $1 AND ${agentUsableSql('$2')}`,
      [keyHash, apiKeyId],
    );
    return rows[0];
  }

  /**
   * The agent's latest call: written only when `writeSeconds` have passed (instances share the
   * guard) or its agentConfig or scanners changed. Undefined values keep what is recorded.
   */
  async recordSeen(
    tx: EntityManager,
    agentId: number,
    seen: { agentConfig?: string; scanners?: readonly string[]; writeSeconds: number },
  ): Promise<void> {
    await tx.query(
      `UPDATE scan_agents SET last_seen_at = now(), last_agent_config = coalesce($2, last_agent_config),
              last_scanners = coalesce($3::text[], last_scanners)
       WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $4)
                          OR last_agent_config IS DISTINCT FROM coalesce($2, last_agent_config)
                          OR last_scanners IS DISTINCT FROM coalesce($3::text[], last_scanners))`,
      [agentId, seen.agentConfig ?? null, seen.scanners ?? null, seen.writeSeconds],
    );
  }

  /** Heartbeats only (nothing else changed): one statement for a batch of agents. */
  async recordSeenMany(agentIds: readonly number[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE scan_agents SET last_seen_at = now() WHERE id = ANY($1::int[])`,
      [agentIds],
    );
  }

  /**
   * The agents the scope may see (one when `id` is given), with `online` computed now from
   * `onlineSeconds` and the newest ASSIGNED task each holds (scan_queue_tasks_scan_agent_id_idx).
   */
  listInScope(scope: TeamScope, onlineSeconds: number, id?: number): Promise<FleetAgentRow[]> {
    return this.dataSource.query(
      `SELECT a.id, a.api_key_id, a.created_at, a.last_seen_at, a.last_agent_config, a.last_scanners,
              a.revoked_at, a.paused_at,
              coalesce(a.last_seen_at >= now() - make_interval(secs => $2), false) AS online,
              (SELECT t.id FROM scan_queue_tasks t WHERE t.scan_agent_id = a.id AND t.status = ${ASSIGNED}
               ORDER BY t.id DESC LIMIT 1) AS current_task_id
       FROM scan_agents a
       WHERE (${AGENTS_IN_SCOPE}) AND ($3::int IS NULL OR a.id = $3)
       ORDER BY a.id`,
      [teamScopeParam(scope), onlineSeconds, id ?? null],
    );
  }

  /**
   * Pauses (or resumes) the agent when the scope may see it, with its event in the same
   * statement; an agent already so changes nothing and raises no event.
   */
  async setPausedInScope(
    id: number,
    scope: TeamScope,
    paused: boolean,
    actorApiKeyId: number,
  ): Promise<PauseOutcome> {
    const [outcome]: PauseOutcome[] = await this.dataSource.query(
      `WITH target AS (
         SELECT a.id FROM scan_agents a WHERE a.id = $2 AND (${AGENTS_IN_SCOPE})
       ), changed AS (
         UPDATE scan_agents a SET paused_at = CASE WHEN $3 THEN now() END
         FROM target
         WHERE a.id = target.id AND (a.paused_at IS NULL) = $3
         RETURNING a.id, a.api_key_id, a.paused_at
       ), outbox AS (
         ${fleetOutboxInsert(
           agentEventType(paused),
           'changed',
           'f.id',
           `'agent', jsonb_build_object('id', f.id, 'apiKeyId', f.api_key_id, 'pausedAt', f.paused_at)`,
           '$4',
         )}
       )
       SELECT EXISTS (SELECT 1 FROM target) AS found, EXISTS (SELECT 1 FROM changed) AS changed,
         -- A resumed agent may be waiting (long poll): its scanners' waiters claim again.
         (SELECT string_agg(${claimableAgainSql('s.scanner')}, '')
          FROM (SELECT DISTINCT t.scanner FROM scan_queue_tasks t
                WHERE t.status = 1 AND t.active AND EXISTS (SELECT 1 FROM changed c WHERE c.paused_at IS NULL)) s
         ) AS notified`,
      [teamScopeParam(scope), id, paused, actorApiKeyId],
    );
    return outcome;
  }

  /** The fleet gauges: agents paused (not revoked) and agents online now. */
  async fleetCounts(onlineSeconds: number): Promise<{ paused: number; online: number }> {
    const [counts]: { paused: number; online: number }[] = await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE paused_at IS NOT NULL)::int AS paused,
              count(*) FILTER (WHERE last_seen_at >= now() - make_interval(secs => $1))::int AS online
       FROM scan_agents WHERE revoked_at IS NULL`,
      [onlineSeconds],
    );
    return counts;
  }

  /** Revokes the agent when the scope may see it (false when it may not, or it is missing). */
  async revokeInScope(id: number, scope: TeamScope): Promise<boolean> {
    // Under a SELECT: TypeORM answers a top-level UPDATE with [rows, count], not the rows.
    const rows: { id: number }[] = await this.dataSource.query(
      `WITH revoked AS (
         UPDATE scan_agents a SET revoked_at = coalesce(a.revoked_at, now())
         WHERE a.id = $2 AND (${AGENTS_IN_SCOPE})
         RETURNING a.id
       )
       SELECT id FROM revoked`,
      [teamScopeParam(scope), id],
    );
    return rows.length > 0;
  }
}

/** All SQL of scan agents: their keys' rows, the usable-agent check other statements embed, and the scoped admin view. */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { ScanAgentEntity } from './scan-agent.entity';

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

  /** The agent's latest poll; written only when a minute has passed or the agentConfig changed. */
  async recordSeen(
    tx: EntityManager,
    agentId: number,
    agentConfig: string | undefined,
  ): Promise<void> {
    await tx.query(
      `UPDATE scan_agents SET last_seen_at = now(), last_agent_config = coalesce($2, last_agent_config)
       WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute'
                          OR last_agent_config IS DISTINCT FROM coalesce($2, last_agent_config))`,
      [agentId, agentConfig ?? null],
    );
  }

  listInScope(scope: TeamScope): Promise<ScanAgentEntity[]> {
    return this.dataSource
      .getRepository(ScanAgentEntity)
      .createQueryBuilder('a')
      .where(AGENTS_IN_SCOPE.replaceAll('$1', 'CAST(:scope AS int[])'), {
        scope: teamScopeParam(scope),
      })
      .orderBy('a.id', 'ASC')
      .getMany();
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

  get(id: number): Promise<ScanAgentEntity> {
    return this.dataSource.getRepository(ScanAgentEntity).findOneByOrFail({ id });
  }
}

/**
 * Scan-agent instances. ThreadFix handed out agent keys without remembering them, so any string
 * worked; scanqueue stores each issued key's hash and refuses unknown or revoked ones. An agent key
 * is bound to the API key that issued it: it works only presented together with that key, and dies
 * with it (revocation cascades, api-keys.service.ts; the lookups below also check it).
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuthenticationFailed, BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { UNKNOWN_API_KEY } from '../auth/api-keys.service';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from '../auth/secret-keys';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { UsageThrottle } from '../auth/usage-throttle';
import { ScanAgentEntity } from './scan-agent.entity';

export const MISSING_AGENT_KEY = 'No secure scan agent key found error.';
export const UNKNOWN_AGENT_KEY = 'Secure scan agent key was not recognized.';

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
export class ScanAgentsService {
  private readonly seen = new UsageThrottle();

  constructor(private readonly dataSource: DataSource) {}

  /**
   * requestScanAgentKey: a new agent identity owned by the calling API key. A key revoked on
   * another instance (still cached here) gets none.
   */
  async issueKey(apiKeyId: number): Promise<string> {
    const plaintext = generateSecretKey();
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO scan_agents (key_hash, api_key_id)
       SELECT $1, id FROM api_keys WHERE id = $2 AND revoked_at IS NULL
       RETURNING id`,
      [hashSecretKey(plaintext), apiKeyId],
    );
    if (rows.length === 0) throw new AuthenticationFailed(UNKNOWN_API_KEY);
    return plaintext;
  }

  /**
   * The active agent a presented key belongs to, when presented with the API key that issued it;
   * 400 when absent, 403 when unknown, revoked or issued by another API key (one answer for all).
   */
  async authenticate(
    presented: string | undefined,
    apiKeyId: number,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<AgentRow> {
    if (!presented) throw new BadRestParameter(MISSING_AGENT_KEY);
    const rows: AgentRow[] = await tx.query(
      `SELECT a.id, a.api_key_id, a.key_hash FROM scan_agents a
       WHERE a.key_hash = $1 AND ${agentUsableSql('$2')}`,
      [hashSecretKey(presented), apiKeyId],
    );
    const agent = rows[0];
    if (!agent || !secretKeyMatches(presented, agent.key_hash))
      throw new Forbidden(UNKNOWN_AGENT_KEY);
    return agent;
  }

  /** Records the agent's latest poll; at most one write a minute unless the agentConfig changed. */
  async recordSeen(
    tx: EntityManager,
    agentId: number,
    agentConfig: string | undefined,
  ): Promise<void> {
    if (!this.seen.shouldRecord(agentId, agentConfig)) return;
    await tx.query(
      `UPDATE scan_agents SET last_seen_at = now(), last_agent_config = coalesce($2, last_agent_config)
       WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute'
                          OR last_agent_config IS DISTINCT FROM coalesce($2, last_agent_config))`,
      [agentId, agentConfig ?? null],
    );
  }

  list(scope: TeamScope): Promise<ScanAgentEntity[]> {
    return this.dataSource
      .getRepository(ScanAgentEntity)
      .createQueryBuilder('a')
      .where(AGENTS_IN_SCOPE.replaceAll('$1', 'CAST(:scope AS int[])'), {
        scope: teamScopeParam(scope),
      })
      .orderBy('a.id', 'ASC')
      .getMany();
  }

  /** Revokes an agent the scope may see; one it may not answers as a missing one. */
  async revoke(id: number, scope: TeamScope): Promise<ScanAgentEntity> {
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
    if (rows.length === 0) throw new NotFound(`No scan agent found with id ${id}.`);
    return this.dataSource.getRepository(ScanAgentEntity).findOneByOrFail({ id });
  }
}

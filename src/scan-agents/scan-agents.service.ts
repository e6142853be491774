/**
 * Scan-agent instances. ThreadFix handed out agent keys without remembering them, so any string
 * worked; scanqueue stores each issued key's hash and refuses unknown or revoked ones.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from '../auth/secret-keys';
import { UsageThrottle } from '../auth/usage-throttle';
import { BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { ScanAgentEntity } from './scan-agent.entity';

export const MISSING_AGENT_KEY = 'No secure scan agent key found error.';
export const UNKNOWN_AGENT_KEY = 'Secure scan agent key was not recognized.';

@Injectable()
export class ScanAgentsService {
  private readonly seen = new UsageThrottle();

  constructor(private readonly dataSource: DataSource) {}

  /** requestScanAgentKey: a new agent identity owned by the calling API key. */
  async issueKey(apiKeyId: number): Promise<string> {
    const plaintext = generateSecretKey();
    await this.dataSource.query(`INSERT INTO scan_agents (key_hash, api_key_id) VALUES ($1, $2)`, [
      hashSecretKey(plaintext),
      apiKeyId,
    ]);
    return plaintext;
  }

  /** The active agent a presented key belongs to; 400 when absent, 403 when unknown or revoked. */
  async authenticate(
    presented: string | undefined,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<ScanAgentEntity> {
    if (!presented) throw new BadRestParameter(MISSING_AGENT_KEY);
    const agent = await tx.findOneBy(ScanAgentEntity, {
      keyHash: hashSecretKey(presented),
      revokedAt: IsNull(),
    });
    if (!agent || !secretKeyMatches(presented, agent.keyHash))
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

  list(): Promise<ScanAgentEntity[]> {
    return this.dataSource.getRepository(ScanAgentEntity).find({ order: { id: 'ASC' } });
  }

  async revoke(id: number): Promise<ScanAgentEntity> {
    const agents = this.dataSource.getRepository(ScanAgentEntity);
    await agents.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    const agent = await agents.findOneBy({ id });
    if (!agent) throw new NotFound(`No scan agent found with id ${id}.`);
    return agent;
  }
}

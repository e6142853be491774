/**
 * Scan-agent instances. ThreadFix handed out agent keys without remembering them, so any string
 * worked; scanqueue stores each issued key's hash and refuses unknown or revoked ones. An agent key
 * is bound to the API key that issued it: it works only presented together with that key, and dies
 * with it (revocation cascades, api-keys.service.ts; the lookups below also check it).
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthenticationFailed, BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { UNKNOWN_API_KEY } from '../auth/api-keys.service';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from '../auth/secret-keys';
import { TeamScope } from '../auth/team-scope';
import { UsageThrottle } from '../auth/usage-throttle';
import { ScanAgentEntity } from './scan-agent.entity';
import { AgentRow, ScanAgentsRepository } from './scan-agents.repository';

export const MISSING_AGENT_KEY = 'No secure scan agent key found error.';
export const UNKNOWN_AGENT_KEY = 'Secure scan agent key was not recognized.';

@Injectable()
export class ScanAgentsService {
  private readonly seen = new UsageThrottle();

  constructor(private readonly repository: ScanAgentsRepository) {}

  /**
   * requestScanAgentKey: a new agent identity owned by the calling API key. A key revoked on
   * another instance (still cached here) gets none.
   */
  async issueKey(apiKeyId: number): Promise<string> {
    const plaintext = generateSecretKey();
    if (!(await this.repository.insertForApiKey(hashSecretKey(plaintext), apiKeyId)))
      throw new AuthenticationFailed(UNKNOWN_API_KEY);
    return plaintext;
  }

  /**
   * The active agent a presented key belongs to, when presented with the API key that issued it;
   * 400 when absent, 403 when unknown, revoked or issued by another API key (one answer for all).
   */
  async authenticate(
    presented: string | undefined,
    apiKeyId: number,
    tx?: EntityManager,
  ): Promise<AgentRow> {
    if (!presented) throw new BadRestParameter(MISSING_AGENT_KEY);
    const agent = await this.repository.findUsable(hashSecretKey(presented), apiKeyId, tx);
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
    await this.repository.recordSeen(tx, agentId, agentConfig);
  }

  list(scope: TeamScope): Promise<ScanAgentEntity[]> {
    return this.repository.listInScope(scope);
  }

  /** Revokes an agent the scope may see; one it may not answers as a missing one. */
  async revoke(id: number, scope: TeamScope): Promise<ScanAgentEntity> {
    if (!(await this.repository.revokeInScope(id, scope)))
      throw new NotFound(`No scan agent found with id ${id}.`);
    return this.repository.get(id);
  }
}

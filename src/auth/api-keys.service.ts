/** API keys: creation (plaintext shown once), authentication, revocation, the bootstrap key. */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuthenticationFailed, BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthenticatedCaller } from './authenticated-caller';
import { Permission } from './permission';
import { EVERY_TEAM, scopeWithin, TeamScope } from './team-scope';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from './secret-keys';
import { TtlCache, UsageThrottle } from './usage-throttle';

export const MISSING_API_KEY = 'Authentication failed, check your API Key.';
export const UNKNOWN_API_KEY = 'API Key not found in database.';

export interface NewApiKey {
  name: string;
  permissions: Permission[];
  restricted: boolean;
  /** Limits the key to these teams' applications; undefined or null = every team. */
  teamIds?: number[] | null;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly usage = new UsageThrottle();
  /**
   * Keys that authenticated in the last API_KEY_CACHE_SECONDS, by hash: a busy agent's calls skip
   * the lookup. Only successes are kept (a new key works at once everywhere); a revocation evicts
   * here at once and reaches other instances within the TTL.
   */
  private readonly recentlyAuthenticated: TtlCache<string, AuthenticatedCaller>;
  private readonly recentlyRevoked: TtlCache<string, true>;
  /** Told of every revocation in this process (the agent keys' cache, scan-agents). */
  private readonly revokedListeners: ((apiKeyId: number) => void)[] = [];

  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly config: AppConfig,
  ) {
    this.recentlyAuthenticated = new TtlCache(config.API_KEY_CACHE_SECONDS * 1000, 10_000);
    this.recentlyRevoked = new TtlCache(config.API_KEY_CACHE_SECONDS * 1000, 10_000);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.BOOTSTRAP_API_KEY) await this.ensureBootstrapKey(this.config.BOOTSTRAP_API_KEY);
  }

  /** `listener` hears the id of every key revoked in this process, after the revocation commits. */
  onRevoked(listener: (apiKeyId: number) => void): void {
    this.revokedListeners.push(listener);
  }

  /** Creates the admin key from BOOTSTRAP_API_KEY once; a revoked one stays revoked. */
  async ensureBootstrapKey(plaintext: string): Promise<void> {
    if (await this.repository.insertBootstrapKey(hashSecretKey(plaintext)))
      this.logger.log('Created the bootstrap API key from BOOTSTRAP_API_KEY');
  }

  /** `grantor`: the key asking; it cannot hand out permissions it does not hold itself. */
  async create(
    input: NewApiKey,
    grantor?: AuthenticatedCaller,
  ): Promise<{ key: ApiKeyEntity; plaintext: string }> {
    const beyond = grantor ? input.permissions.filter((p) => !grantor.permissions.includes(p)) : [];
    if (beyond.length > 0) {
      throw new Forbidden(
        `Your API Key cannot grant permissions it does not have: ${beyond.join(', ')}.`,
      );
    }
    const teamIds = input.teamIds ? [...new Set(input.teamIds)].sort((a, b) => a - b) : null;
    if (grantor && !scopeWithin(teamIds, grantor.teamIds)) {
      throw new Forbidden('Your API Key cannot grant access to teams it does not reach itself.');
    }
    if (teamIds) {
      const found = await this.repository.activeTeamIds(teamIds);
      const missing = teamIds.filter((id) => !found.includes(id));
      if (missing.length > 0)
        throw new BadRestParameter(`No active team with id(s) ${missing.join(', ')}.`);
    }
    const plaintext = generateSecretKey();
    const key = await this.repository.insert({
      name: input.name,
      keyHash: hashSecretKey(plaintext),
      permissions: [...new Set(input.permissions)],
      restricted: input.restricted,
      teamIds,
    });
    return { key, plaintext };
  }

  /** Every key, or for a key limited to teams only the keys whose teams lie within its own. */
  list(caller: TeamScope = EVERY_TEAM): Promise<ApiKeyEntity[]> {
    return this.repository.list(caller);
  }

  /**
   * Revokes a key and, in the same transaction, every agent key it issued (an agent key works only
   * with its issuing API key, so it must not outlive it). `revoker`: the key asking, which may revoke
   * only keys whose permissions it holds itself and whose teams lie within its own (a key beyond its
   * teams answers as a missing one, as it is missing from its list). Without one (the CLI), any key.
   */
  async revoke(id: number, revoker?: AuthenticatedCaller): Promise<ApiKeyEntity> {
    const key = await this.repository.revokeWithAgents(id, (found) => {
      if (!found || (revoker && !scopeWithin(found.teamIds, revoker.teamIds)))
        throw new NotFound(`No API key found with id ${id}.`);
      const beyond = revoker
        ? found.permissions.filter((p) => !revoker.permissions.includes(p))
        : [];
      if (beyond.length > 0)
        throw new Forbidden(
          `Your API Key cannot revoke a key with permissions it does not have: ${beyond.join(', ')}.`,
        );
    });
    this.recentlyAuthenticated.delete(key.keyHash);
    // A lookup that read the key just before the revocation committed must not cache it again.
    this.recentlyRevoked.set(key.keyHash, true);
    for (const listener of this.revokedListeners) listener(key.id);
    return key;
  }

  /** Records a use of the key when one is due (the usage throttle spaces the writes). */
  private recordUse(id: number): void {
    if (!this.usage.shouldRecord(id)) return;
    void this.repository
      .recordUse(id)
      .catch((error: unknown) =>
        this.logger.warn(`Could not record API key use: ${String(error)}`),
      );
  }

  /**
   * Finds the active key for a presented plaintext. The lookup is by SHA-256 of a 256-bit key, so
   * its timing reveals nothing usable; the final comparison is constant-time all the same.
   */
  async authenticate(presented: string | undefined): Promise<AuthenticatedCaller> {
    return this.recentCaller(presented) ?? this.lookUp(presented as string);
  }

  /**
   * authenticate's answer when the key was authenticated recently (cached here), without a
   * promise (src/edge/request-edge.ts says why); undefined: ask authenticate.
   */
  recentCaller(presented: string | undefined): AuthenticatedCaller | undefined {
    if (!presented) throw new AuthenticationFailed(MISSING_API_KEY);
    const caller = this.recentlyAuthenticated.get(hashSecretKey(presented));
    if (caller !== undefined) this.recordUse(caller.apiKeyId);
    return caller;
  }

  /** A key not cached here: read from the database, then cached (unless just revoked). */
  private async lookUp(presented: string): Promise<AuthenticatedCaller> {
    const keyHash = hashSecretKey(presented);
    const key = await this.repository.findActiveByHash(keyHash);
    if (!key || !secretKeyMatches(presented, key.key_hash))
      throw new AuthenticationFailed(UNKNOWN_API_KEY);
    // Frozen: one object serves every request of this key while it is cached.
    const caller: AuthenticatedCaller = Object.freeze({
      apiKeyId: key.id,
      name: key.name,
      permissions: Object.freeze(key.permissions) as Permission[],
      restricted: key.restricted,
      teamIds: key.team_ids === null ? null : Object.freeze(key.team_ids),
    });
    if (!this.recentlyRevoked.get(keyHash)) this.recentlyAuthenticated.set(keyHash, caller);
    this.recordUse(caller.apiKeyId);
    return caller;
  }
}

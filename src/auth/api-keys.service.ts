/** API keys: creation (plaintext shown once), authentication, revocation, the bootstrap key. */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { AuthenticationFailed, BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { ApiKeyEntity } from './api-key.entity';
import { AuthenticatedCaller } from './authenticated-caller';
import { ALL_PERMISSIONS, Permission } from './permission';
import { EVERY_TEAM, scopeWithin, TeamScope, teamScopeParam } from './team-scope';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from './secret-keys';
import { TtlCache, UsageThrottle } from './usage-throttle';

interface ActiveKeyRow {
  id: number;
  name: string;
  key_hash: string;
  permissions: Permission[];
  restricted: boolean;
  team_ids: number[] | null;
}

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

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {
    this.recentlyAuthenticated = new TtlCache(config.API_KEY_CACHE_SECONDS * 1000, 10_000);
    this.recentlyRevoked = new TtlCache(config.API_KEY_CACHE_SECONDS * 1000, 10_000);
  }

  private get keys() {
    return this.dataSource.getRepository(ApiKeyEntity);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.BOOTSTRAP_API_KEY) await this.ensureBootstrapKey(this.config.BOOTSTRAP_API_KEY);
  }

  /** Creates the admin key from BOOTSTRAP_API_KEY once; a revoked one stays revoked. */
  async ensureBootstrapKey(plaintext: string): Promise<void> {
    const result = await this.dataSource.query(
      `INSERT INTO api_keys (name, key_hash, permissions, restricted)
       VALUES ('bootstrap', $1, $2, false) ON CONFLICT (key_hash) DO NOTHING RETURNING id`,
      [hashSecretKey(plaintext), ALL_PERMISSIONS],
    );
    if (result.length > 0) this.logger.log('Created the bootstrap API key from BOOTSTRAP_API_KEY');
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
      // Raw SQL: auth sits below teams in the module graph and knows the table, not the module.
      const found: { id: number }[] = await this.dataSource.query(
        `SELECT id FROM teams WHERE id = ANY($1::int[]) AND active`,
        [teamIds],
      );
      const missing = teamIds.filter((id) => !found.some((team) => team.id === id));
      if (missing.length > 0)
        throw new BadRestParameter(`No active team with id(s) ${missing.join(', ')}.`);
    }
    const plaintext = generateSecretKey();
    const key = await this.keys.save(
      this.keys.create({
        name: input.name,
        keyHash: hashSecretKey(plaintext),
        permissions: [...new Set(input.permissions)],
        restricted: input.restricted,
        teamIds,
      }),
    );
    return { key, plaintext };
  }

  /** Every key, or for a key limited to teams only the keys whose teams lie within its own. */
  list(caller: TeamScope = EVERY_TEAM): Promise<ApiKeyEntity[]> {
    if (caller.teamIds === null) return this.keys.find({ order: { id: 'ASC' } });
    return this.keys
      .createQueryBuilder('k')
      .where('k.team_ids IS NOT NULL AND k.team_ids <@ CAST(:scope AS int[])', {
        scope: teamScopeParam(caller),
      })
      .orderBy('k.id', 'ASC')
      .getMany();
  }

  /**
   * Revokes a key and, in the same transaction, every agent key it issued (an agent key works only
   * with its issuing API key, so it must not outlive it). `revoker`: the key asking, which may revoke
   * only keys whose permissions it holds itself and whose teams lie within its own (a key beyond its
   * teams answers as a missing one, as it is missing from its list). Without one (the CLI), any key.
   */
  async revoke(id: number, revoker?: AuthenticatedCaller): Promise<ApiKeyEntity> {
    const key = await this.dataSource.transaction(async (tx) => {
      const found = await tx.findOne(ApiKeyEntity, {
        where: { id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!found || (revoker && !scopeWithin(found.teamIds, revoker.teamIds)))
        throw new NotFound(`No API key found with id ${id}.`);
      const beyond = revoker
        ? found.permissions.filter((p) => !revoker.permissions.includes(p))
        : [];
      if (beyond.length > 0)
        throw new Forbidden(
          `Your API Key cannot revoke a key with permissions it does not have: ${beyond.join(', ')}.`,
        );
      if (found.revokedAt !== null) return found;
      await tx.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
      // Raw SQL: auth sits below scan-agents in the module graph and knows the table, not the module.
      await tx.query(
        `UPDATE scan_agents SET revoked_at = now() WHERE api_key_id = $1 AND revoked_at IS NULL`,
        [id],
      );
      return tx.findOneByOrFail(ApiKeyEntity, { id });
    });
    this.recentlyAuthenticated.delete(key.keyHash);
    // A lookup that read the key just before the revocation committed must not cache it again.
    this.recentlyRevoked.set(key.keyHash, true);
    return key;
  }

  private recordUse(id: number): void {
    void this.dataSource
      .query(
        `UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [id],
      )
      .catch((error: unknown) =>
        this.logger.warn(`Could not record API key use: ${String(error)}`),
      );
  }

  /**
   * Finds the active key for a presented plaintext. The lookup is by SHA-256 of a 256-bit key, so
   * its timing reveals nothing usable; the final comparison is constant-time all the same.
   */
  async authenticate(presented: string | undefined): Promise<AuthenticatedCaller> {
    if (!presented) throw new AuthenticationFailed(MISSING_API_KEY);
    const keyHash = hashSecretKey(presented);
    let caller = this.recentlyAuthenticated.get(keyHash);
    if (caller === undefined) {
      // Plain SQL: this runs on every request, and TypeORM's query building showed in profiles.
      const rows: ActiveKeyRow[] = await this.dataSource.query(
        `SELECT id, name, key_hash, permissions, restricted, team_ids FROM api_keys
         WHERE key_hash = $1 AND revoked_at IS NULL`,
        [keyHash],
      );
      const key = rows[0];
      if (!key || !secretKeyMatches(presented, key.key_hash))
        throw new AuthenticationFailed(UNKNOWN_API_KEY);
      // Frozen: one object serves every request of this key while it is cached.
      caller = Object.freeze({
        apiKeyId: key.id,
        name: key.name,
        permissions: Object.freeze(key.permissions) as Permission[],
        restricted: key.restricted,
        teamIds: key.team_ids === null ? null : Object.freeze(key.team_ids),
      });
      if (!this.recentlyRevoked.get(keyHash)) this.recentlyAuthenticated.set(keyHash, caller);
    }
    if (this.usage.shouldRecord(caller.apiKeyId)) this.recordUse(caller.apiKeyId);
    return caller;
  }
}

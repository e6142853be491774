/**
 * All SQL of API keys. Raw SQL on teams and scan_agents: auth sits below teams and scan-agents in
 * the module graph and knows their tables, not their modules.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { ALL_PERMISSIONS, Permission } from './permission';
import { TeamScope, teamScopeParam } from './team-scope';

/** An unrevoked key, as every request's lookup reads it. */
export interface ActiveKeyRow {
  id: number;
  name: string;
  key_hash: string;
  permissions: Permission[];
  restricted: boolean;
  team_ids: number[] | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  private get keys() {
    return this.dataSource.getRepository(ApiKeyEntity);
  }

  /** The bootstrap admin key, unless that hash exists (revoked or not); whether it was created. */
  async insertBootstrapKey(keyHash: string): Promise<boolean> {
    const result: unknown[] = await this.dataSource.query(
      `INSERT INTO api_keys (name, key_hash, permissions, restricted)
       VALUES ('bootstrap', $1, $2, false) ON CONFLICT (key_hash) DO NOTHING RETURNING id`,
      [keyHash, ALL_PERMISSIONS],
    );
    return result.length > 0;
  }

  /** Those of `teamIds` that are active teams. */
  async activeTeamIds(teamIds: readonly number[]): Promise<number[]> {
    const found: { id: number }[] = await this.dataSource.query(
      `SELECT id FROM teams WHERE id = ANY($1::int[]) AND active`,
      [teamIds],
    );
    return found.map((team) => team.id);
  }

  insert(
    key: Omit<ApiKeyEntity, 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'>,
  ): Promise<ApiKeyEntity> {
    return this.keys.save(this.keys.create(key));
  }

  /** Every key, or for a scope limited to teams only the keys whose teams lie within it. */
  list(scope: TeamScope): Promise<ApiKeyEntity[]> {
    if (scope.teamIds === null) return this.keys.find({ order: { id: 'ASC' } });
    return this.keys
      .createQueryBuilder('k')
      .where('k.team_ids IS NOT NULL AND k.team_ids <@ CAST(:scope AS int[])', {
        scope: teamScopeParam(scope),
      })
      .orderBy('k.id', 'ASC')
      .getMany();
  }

  /**
   * Revokes a key and, in the same transaction, every agent key it issued, once `allowed` accepts
   * the key (read under a row lock; its throw aborts). A revoked key is answered unchanged.
   */
  revokeWithAgents(
    id: number,
    allowed: (key: ApiKeyEntity | null) => asserts key is ApiKeyEntity,
  ): Promise<ApiKeyEntity> {
    return this.dataSource.transaction(async (tx) => {
      const found = await tx.findOne(ApiKeyEntity, {
        where: { id },
        lock: { mode: 'pessimistic_write' },
      });
      allowed(found);
      if (found.revokedAt !== null) return found;
      await tx.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
      await tx.query(
        `UPDATE scan_agents SET revoked_at = now() WHERE api_key_id = $1 AND revoked_at IS NULL`,
        [id],
      );
      return tx.findOneByOrFail(ApiKeyEntity, { id });
    });
  }

  /** Records the key's use, at most once a minute. */
  async recordUse(id: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }

  /** Plain SQL: this runs on every request, and TypeORM's query building showed in profiles. */
  async findActiveByHash(keyHash: string): Promise<ActiveKeyRow | undefined> {
    const rows: ActiveKeyRow[] = await this.dataSource.query(
      `SELECT id, name, key_hash, permissions, restricted, team_ids FROM api_keys
       WHERE key_hash = $1 AND revoked_at IS NULL`,
      [keyHash],
    );
    return rows[0];
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rate-limit counts shared by every instance (src/edge/postgres-counter-store.ts): one row per
 * bucket (a client address or an API key) and minute. UNLOGGED: a count is worth no WAL, and losing
 * the table in a crash only gives every client a fresh minute. No entity maps it: only the store's
 * own SQL reads it. The primary key serves the store's upsert and its read of the minute before.
 */
export class RateLimitCounters1765200000000 implements MigrationInterface {
  name = 'RateLimitCounters1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit_counters (
        bucket text NOT NULL,
        window_index bigint NOT NULL,
        hits bigint NOT NULL,
        PRIMARY KEY (bucket, window_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE rate_limit_counters');
  }
}

import { DataSource } from 'typeorm';
import { CounterStore, WindowIncrement, WindowTotals } from './counter-store';

interface TotalsRow {
  ord: string;
  hits: string;
  previous: string;
}

/**
 * The rate limiter's PostgreSQL store, and all SQL of the edge: counts in `rate_limit_counters` (an UNLOGGED table: counts are worth no WAL, and a crash that
 * empties it only gives every client a fresh minute). One statement per batch adds every increment
 * and reads back each bucket's totals of its window and the window before.
 */
export class PostgresCounterStore implements CounterStore {
  readonly name = 'PostgreSQL';

  constructor(private readonly dataSource: DataSource) {}

  async add(increments: readonly WindowIncrement[]): Promise<WindowTotals[]> {
    if (increments.length === 0) return [];
    // Rows are locked in (bucket, window) order, the same on every instance: two instances
    // flushing overlapping batches wait for each other instead of deadlocking.
    const sorted = increments
      .map((increment, index) => ({ ...increment, index }))
      .sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : a.window - b.window));
    const rows: TotalsRow[] = await this.dataSource.query(
      `WITH batch AS (
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY
           AS b(bucket, window_index, hits, ord)
       ), added AS (
         INSERT INTO rate_limit_counters AS c (bucket, window_index, hits)
         SELECT bucket, window_index, hits FROM batch ORDER BY ord
         ON CONFLICT (bucket, window_index) DO UPDATE SET hits = c.hits + EXCLUDED.hits
         RETURNING c.bucket, c.window_index, c.hits
       )
       SELECT b.ord, a.hits, COALESCE(p.hits, 0) AS previous
       FROM batch b
       JOIN added a USING (bucket, window_index)
       LEFT JOIN rate_limit_counters p
         ON p.bucket = b.bucket AND p.window_index = b.window_index - 1`,
      [sorted.map((i) => i.bucket), sorted.map((i) => i.window), sorted.map((i) => i.hits)],
    );
    const totals: WindowTotals[] = new Array<WindowTotals>(increments.length);
    for (const row of rows) {
      const { index } = sorted[Number(row.ord) - 1];
      totals[index] = { hits: Number(row.hits), previous: Number(row.previous) };
    }
    return totals;
  }

  async prune(window: number): Promise<void> {
    await this.dataSource.query('DELETE FROM rate_limit_counters WHERE window_index < $1', [
      window,
    ]);
  }

  async close(): Promise<void> {
    // The DataSource is the database module's to close.
  }
}

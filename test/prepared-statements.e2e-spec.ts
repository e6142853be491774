/**
 * src/sql/prepared-statements.ts on a real PostgreSQL: a named statement answers what
 * TypeORM's query() answers, is parsed once per connection (pg_prepared_statements counts its
 * executions), runs on the transaction's own connection inside a transaction, and fails as
 * query() fails.
 */
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { queryPrepared } from '../src/sql/prepared-statements';
import { createTestDatabase } from './support/test-server';

const SERIES = 'SELECT n, n * $1::int AS m, $2::text AS label FROM generate_series(1, $3::int) n';

interface Prepared {
  name: string;
  statement: string;
  executions: number;
}

/** The session's prepared statements, read on `manager`'s connection. */
async function preparedOn(manager: EntityManager | DataSource): Promise<Prepared[]> {
  return manager.query(
    `SELECT name, statement, (generic_plans + custom_plans)::int AS executions
     FROM pg_prepared_statements ORDER BY name`,
  );
}

describe('prepared statements (pg named queries through TypeORM)', () => {
  let dataSource: DataSource;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection: every call outside a transaction meets the same session.
    dataSource = new DataSource({ type: 'postgres', url: database.url, extra: { max: 1 } });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
    await dataSource.query('INSERT INTO counters SELECT i, 0 FROM generate_series(1, 3) i');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('answers the rows query() answers, for a SELECT and for an UPDATE', async () => {
    const params = [7, 'x', 4];
    const prepared = await queryPrepared(dataSource, 'series_rows', SERIES, params);
    expect(prepared).toEqual(await dataSource.query(SERIES, params));
    expect(prepared).toHaveLength(4);

    const bump = 'UPDATE counters SET n = n + 1 WHERE id <= $1 RETURNING id, n';
    const viaPrepared = await queryPrepared<[{ id: number; n: number }[], number]>(
      dataSource,
      'bump_counters',
      bump,
      [2],
    );
    const viaQuery: [{ id: number; n: number }[], number] = await dataSource.query(bump, [2]);
    expect(viaPrepared[1]).toBe(2);
    expect(viaQuery[1]).toBe(2);
    expect(viaQuery[0].map((r) => r.n)).toEqual(viaPrepared[0].map((r) => r.n + 1));
  });

  it('is parsed once per connection, then only executed', async () => {
    for (let i = 1; i <= 5; i++) {
      const rows: { n: number }[] = await queryPrepared(dataSource, 'series_once', SERIES, [
        i,
        'y',
        2,
      ]);
      expect(rows[1]).toEqual({ n: 2, m: 2 * i, label: 'y' });
    }
    const mine = (await preparedOn(dataSource)).filter((p) => p.name === 'series_once');
    expect(mine).toEqual([{ name: 'series_once', statement: SERIES, executions: 5 }]);
    // query() leaves no named statement behind.
    await dataSource.query(SERIES, [1, 'z', 1]);
    expect((await preparedOn(dataSource)).map((p) => p.name)).toEqual([
      'bump_counters',
      'series_once',
      'series_rows',
    ]);
  });

  it('runs on the transaction’s connection, and rolls back with it', async () => {
    const update = 'UPDATE counters SET n = $2 WHERE id = $1 RETURNING n';
    const outside = new DataSource({ type: 'postgres', url: database.url, extra: { max: 1 } });
    await outside.initialize();
    try {
      await expect(
        outside.transaction(async (tx) => {
          const pid: [{ pid: number }] = await tx.query('SELECT pg_backend_pid() AS pid');
          const samePid: [{ pid: number }] = await queryPrepared(
            tx,
            'backend_pid',
            'SELECT pg_backend_pid() AS pid',
          );
          expect(samePid[0].pid).toBe(pid[0].pid);
          await queryPrepared(tx, 'set_counter', update, [3, 99]);
          // Seen inside the transaction, not outside it (another connection's pool).
          expect(await tx.query('SELECT n FROM counters WHERE id = 3')).toEqual([{ n: 99 }]);
          expect(await dataSource.query('SELECT n FROM counters WHERE id = 3')).toEqual([{ n: 0 }]);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await dataSource.query('SELECT n FROM counters WHERE id = 3')).toEqual([{ n: 0 }]);
      // The transaction's connection went back to its pool prepared: the next call reuses it.
      await outside.transaction((tx) => queryPrepared(tx, 'set_counter', update, [3, 5]));
      const mine = (await preparedOn(outside)).filter((p) => p.name === 'set_counter');
      expect(mine.map((p) => p.executions)).toEqual([2]);
      expect(await dataSource.query('SELECT n FROM counters WHERE id = 3')).toEqual([{ n: 5 }]);
    } finally {
      await outside.destroy();
    }
  });

  it('fails as query() fails, and refuses a second text for a name', async () => {
    const failure = await queryPrepared(dataSource, 'bad_cast', 'SELECT $1::int AS n', [
      'nope',
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError).driverError).toMatchObject({ code: '22P02' });
    // The pool's connection is still usable.
    expect(await queryPrepared(dataSource, 'series_rows', SERIES, [1, 'a', 1])).toHaveLength(1);

    await expect(queryPrepared(dataSource, 'series_rows', `${SERIES} LIMIT 1`, [])).rejects.toThrow(
      'different SQL text',
    );
    await expect(queryPrepared(dataSource, 'Bad-Name', 'SELECT 1', [])).rejects.toThrow(
      'snake_case',
    );
  });
});

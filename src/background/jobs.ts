/**
 * Background jobs on pg-boss (its schema comes from the migrations, never from pg-boss at run time).
 * A job is sent by NAME in the sender's own transaction (pg-boss's `db` option over the
 * transaction's connection): a rolled-back change leaves no job, a committed one always has its
 * job, and a job outlives any restart. The module that runs a job defines it (its retry, backoff,
 * expiry and dead-letter options, and what it writes beside the job in that same transaction);
 * the sender knows only the name and the payload, so senders never import the job's owner.
 * pg-boss shares TypeORM's connection pool: no second pool, and a database outage is one outage.
 * Free of Nest (jobs.service.ts is its provider), so a test can run it against a database alone.
 */
import PgBoss from 'pg-boss';
import type { Pool, PoolClient } from 'pg';
import { DataSource, EntityManager } from 'typeorm';

/** The schema the migration 1765400000000 created pg-boss's tables in. */
export const JOBS_SCHEMA = 'pgboss';

export type JobSendOptions = Pick<
  PgBoss.SendOptions,
  | 'retryLimit'
  | 'retryDelay'
  | 'retryBackoff'
  | 'expireInSeconds'
  | 'deadLetter'
  | 'startAfter'
  | 'singletonKey'
  | 'singletonSeconds'
>;

export interface JobDefinition<T extends object> {
  /** The queue (created by a migration). */
  name: string;
  /** Defaults of every send of this job. */
  options?: JobSendOptions;
  /** Writes what the job works on, in the sender's transaction, before the job row. */
  beforeSend?: (tx: EntityManager, data: T) => Promise<void>;
}

export interface JobWorkerOptions {
  /** Jobs of this name run at once in this process. */
  concurrency: number;
  pollingIntervalSeconds: number;
}

export type JobHandler<T extends object> = (data: T, job: PgBoss.Job<T>) => Promise<void>;
/** Up to `batchSize` jobs at once: all complete, or (a throw) all fail for a retry. */
export type JobBatchHandler<T extends object> = (data: T[]) => Promise<void>;

const adapter = (client: PoolClient): PgBoss.Db => ({
  executeSql: (text, values) => client.query(text, values),
});

export class Jobs {
  private readonly definitions = new Map<string, JobDefinition<object>>();
  private readonly boss: PgBoss;
  private starting?: Promise<void>;

  constructor(dataSource: DataSource, logger: { warn(message: string): void }) {
    // TypeORM's pool, looked up per statement (pg-boss's own polling and maintenance).
    const pool = () => (dataSource.driver as unknown as { master: Pool }).master;
    this.boss = new PgBoss({
      db: { executeSql: (text, values) => pool().query(text, values) },
      schema: JOBS_SCHEMA,
      // The schema is the migrations' (1765400000000-jobs): pg-boss only checks its version.
      migrate: false,
      // Expiry of stuck jobs and retention only; no cron schedules, no state monitor.
      supervise: true,
      schedule: false,
    });
    // Without a listener an 'error' event would end the process (a worker's fetch while the
    // database is down, say); the worker retries on its next poll.
    this.boss.on('error', (error: Error) => logger.warn(`Jobs: ${error.message}`));
  }

  define<T extends object>(definition: JobDefinition<T>): void {
    this.definitions.set(definition.name, definition as JobDefinition<object>);
  }

  /** Sends the job in `tx`'s transaction; answers its id (null when a singleton dropped it). */
  async send<T extends object>(
    tx: EntityManager,
    name: string,
    data: T,
    options: JobSendOptions = {},
  ): Promise<string | null> {
    const { definition, db } = this.sending(tx, name);
    await definition.beforeSend?.(tx, data);
    // No start needed (nor awaited: it would want a pool connection while the transaction holds
    // one, and a burst of senders would hold them all): a send is one INSERT on `db`.
    return this.boss.send(name, data, { ...definition.options, ...options, db });
  }

  /** Sends one job per payload in `tx`'s transaction, in one statement (no beforeSend). */
  async sendMany<T extends object>(tx: EntityManager, name: string, data: T[]): Promise<void> {
    if (data.length === 0) return;
    const { definition, db } = this.sending(tx, name);
    const { retryLimit, retryDelay, retryBackoff, expireInSeconds, deadLetter } =
      definition.options ?? {};
    const defaults = { retryLimit, retryDelay, retryBackoff, expireInSeconds, deadLetter };
    await this.boss.insert(
      data.map((one) => ({ ...defaults, name, data: one })),
      { db },
    );
  }

  private sending(tx: EntityManager, name: string) {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`No job named ${name} is defined`);
    // The transaction's own connection (TypeORM's Postgres query runner holds the pg client).
    const runner = tx.queryRunner as
      { databaseConnection?: PoolClient; isTransactionActive?: boolean } | undefined;
    const client = runner?.databaseConnection;
    if (!client || !runner?.isTransactionActive)
      throw new Error(`Job ${name} must be sent in a transaction`);
    return { definition, db: adapter(client) };
  }

  /** Runs `handler` for every job of this name; a throw fails the attempt (retried, then dead). */
  async work<T extends object>(
    name: string,
    options: JobWorkerOptions,
    handler: JobHandler<T>,
  ): Promise<void> {
    await this.start();
    for (let i = 0; i < options.concurrency; i++)
      await this.boss.work<T>(
        name,
        { batchSize: 1, pollingIntervalSeconds: options.pollingIntervalSeconds },
        async ([job]) => handler(job.data, job),
      );
  }

  /** Runs `handler` for batches of up to `batchSize` jobs of this name. */
  async workBatches<T extends object>(
    name: string,
    options: JobWorkerOptions & { batchSize: number },
    handler: JobBatchHandler<T>,
  ): Promise<void> {
    await this.start();
    const { batchSize, pollingIntervalSeconds } = options;
    for (let i = 0; i < options.concurrency; i++)
      await this.boss.work<T>(name, { batchSize, pollingIntervalSeconds }, async (jobs) =>
        handler(jobs.map((job) => job.data)),
      );
  }

  /** Stops fetching jobs of this name; the running ones finish. */
  async stopWorking(name: string): Promise<void> {
    if (this.starting) await this.boss.offWork(name);
  }

  /** Stops the workers and pg-boss (not the pool: TypeORM's). */
  async stop(): Promise<void> {
    const started = this.starting;
    this.starting = undefined;
    if (!(await started?.then(() => true).catch(() => false))) return;
    // Jobs still running when it ends are failed for a retry (pg-boss's failWip).
    await this.boss.stop({ graceful: true, close: false, timeout: 10_000, wait: true });
  }

  /** Started for workers only (the version check, the supervisor, polling). */
  private start(): Promise<void> {
    this.starting ??= this.boss.start().then(
      () => undefined,
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }
}

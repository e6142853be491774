/**
 * The DataSource: connects to DATABASE_URL or to the embedded PostgreSQL, applies the committed
 * migrations on start (never `synchronize`), and closes both on shutdown.
 */
import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { EmbeddedDatabase, startEmbeddedPostgres } from './embedded-postgres';

const EMBEDDED_DATABASE = Symbol('EMBEDDED_DATABASE');
/** pg advisory-lock key that serialises migrations across instances ("scanqueue" in ASCII, truncated). */
const MIGRATION_LOCK_KEY = 0x7363616e71;

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: EMBEDDED_DATABASE,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<EmbeddedDatabase | null> => {
        if (config.DATABASE_URL) return null;
        const logger = new Logger('EmbeddedPostgres');
        logger.log(
          `No DATABASE_URL: starting the embedded PostgreSQL in ${config.embeddedDatabaseDir}`,
        );
        return startEmbeddedPostgres(config.embeddedDatabaseDir, config.EMBEDDED_PG_PORT, (line) =>
          logger.verbose(line),
        );
      },
    },
    {
      provide: DataSource,
      inject: [AppConfig, EMBEDDED_DATABASE],
      useFactory: async (
        config: AppConfig,
        embedded: EmbeddedDatabase | null,
      ): Promise<DataSource> => {
        const url = config.DATABASE_URL ?? embedded?.url;
        if (!url) throw new Error('No database URL');
        const dataSource = new DataSource(dataSourceOptions(url, config.DATABASE_POOL_SIZE));
        await dataSource.initialize();
        // Instances starting together must not run the same migration twice: one at a time.
        const lock = dataSource.createQueryRunner();
        await lock.connect();
        try {
          // sql-home: infrastructure (the migrations' lock, no module's data).
          await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
          await dataSource.runMigrations({ transaction: 'each' });
        } finally {
          await lock
            // sql-home: infrastructure (the migrations' lock).
            .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
            .catch(() => undefined);
          await lock.release();
        }
        return dataSource;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [DataSource],
})
export class DatabaseModule {}

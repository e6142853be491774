/**
 * The HTTP edge: the bounds every request meets before a route runs (request-edge.ts) and the rate
 * limiter they use, counting in PostgreSQL or, with REDIS_URL, in Redis. docs/security.md, "Edge
 * bounds", says what each bound protects.
 */
import {
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { CounterStore } from './counter-store';
import { PostgresCounterStore } from './rate-limit-counters.repository';
import { RateLimiter } from './rate-limiter';
import { RedisCounterStore } from './redis-counter-store';
import { RequestEdge } from './request-edge';

const COUNTER_STORE = Symbol('COUNTER_STORE');

@Injectable()
class RateLimiterLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.RATE_LIMIT_PER_MINUTE > 0 || this.config.RATE_LIMIT_PER_ADDRESS_PER_MINUTE > 0)
      this.limiter.start();
  }

  /** Before the database closes (onApplicationShutdown): the last counts are sent. */
  async onModuleDestroy(): Promise<void> {
    await this.limiter.stop();
    await this.store.close();
  }
}

@Module({
  providers: [
    {
      provide: COUNTER_STORE,
      inject: [AppConfig, DataSource],
      useFactory: async (config: AppConfig, dataSource: DataSource): Promise<CounterStore> => {
        if (!config.REDIS_URL) return new PostgresCounterStore(dataSource);
        const logger = new Logger('RateLimiter');
        let lastError = '';
        return RedisCounterStore.connect(config.REDIS_URL, (error) => {
          // ioredis repeats the error on every reconnect attempt: one line per new error.
          if (error.message !== lastError) logger.warn(`Redis: ${error.message}`);
          lastError = error.message;
        });
      },
    },
    {
      provide: RateLimiter,
      inject: [COUNTER_STORE, AppConfig, MetricsService],
      useFactory: (store: CounterStore, config: AppConfig, metrics: MetricsService) => {
        const logger = new Logger('RateLimiter');
        const limiter = new RateLimiter(store, config.RATE_LIMIT_MAX_BUCKETS, {
          storeDown: (error) =>
            logger.warn(
              `${store.name} does not answer (${String(error)}): rate limits are counted per instance until it does`,
            ),
          storeUp: () => logger.log(`${store.name} answers again: rate limits are shared again`),
          synced: () => metrics.rateLimitSynced(),
        });
        metrics.watchRateLimitBuckets(() => limiter.bucketCount);
        return limiter;
      },
    },
    RateLimiterLifecycle,
    RequestEdge,
  ],
  exports: [RequestEdge],
})
export class EdgeModule {}

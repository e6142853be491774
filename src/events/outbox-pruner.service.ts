/**
 * Keeps the outbox from growing for ever: rows older than OUTBOX_RETENTION_HOURS that owe nothing
 * more are deleted (their webhook deliveries cascade). A row owes nothing when it was published to
 * JetStream, or this instance has no NATS_URL (nobody will publish it), and its webhook deliveries,
 * if webhooks are on, were all made or given up. Runs at boot and hourly on every instance: the
 * DELETE is idempotent and batched, so instances running it together only share the work.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { OutboxRepository } from './outbox.repository';

const INTERVAL_MS = 3600_000;
const BATCH = 5_000;

@Injectable()
export class OutboxPrunerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxPrunerService.name);
  private readonly loop = new PeriodicLoop(() => this.pruneRound(), {
    name: 'Outbox pruning',
    logger: this.logger,
    intervalMs: INTERVAL_MS,
    failureDelayMs: () => INTERVAL_MS,
  });

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.OUTBOX_RETENTION_HOURS > 0) this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  private async pruneRound(): Promise<void> {
    const deleted = await this.prune();
    if (deleted > 0) this.logger.log(`Deleted ${deleted} outbox event(s) past retention`);
  }

  /**
   * Deletes what retention allows, in batches; returns how many rows went. A round runs to its end
   * even when shutdown begins (shutdown awaits it, as it always did): a batch takes milliseconds.
   */
  async prune(): Promise<number> {
    const rule = {
      retentionHours: this.config.OUTBOX_RETENTION_HOURS,
      publishes: Boolean(this.config.NATS_URL),
      delivers: this.config.WEBHOOK_URLS.length > 0,
    };
    let total = 0;
    for (;;) {
      const deleted = await this.outbox.pruneBatch(rule, BATCH);
      total += deleted;
      if (deleted < BATCH) return total;
    }
  }
}

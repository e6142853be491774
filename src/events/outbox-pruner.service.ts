/**
 * Keeps the outbox from growing for ever: rows older than OUTBOX_RETENTION_HOURS that owe nothing
 * more are deleted (their webhook deliveries cascade). A row owes nothing when it was published to
 * JetStream, or this instance has no NATS_URL (nobody will publish it), and its webhook deliveries,
 * if webhooks are on, were all made or given up. Runs at boot and hourly on every instance: the
 * DELETE is idempotent and batched, so instances running it together only share the work.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';

const INTERVAL_MS = 3600_000;
const BATCH = 5_000;

@Injectable()
export class OutboxPrunerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxPrunerService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.OUTBOX_RETENTION_HOURS === 0) return;
    const tick = () => {
      this.running = this.prune()
        .then((deleted) => {
          if (deleted > 0) this.logger.log(`Deleted ${deleted} outbox event(s) past retention`);
        })
        .catch((error: unknown) => this.logger.warn(`Outbox pruning failed: ${String(error)}`));
    };
    tick();
    this.timer = setInterval(tick, INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Deletes what retention allows, in batches; returns how many rows went. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      // A CTE, so query() answers rows: a top-level DELETE … RETURNING comes back as [rows, count].
      const [{ deleted }]: { deleted: number }[] = await this.dataSource.query(
        `WITH gone AS (
           DELETE FROM outbox_events WHERE id IN (
             SELECT e.id FROM outbox_events e
             WHERE e.created_at < now() - make_interval(hours => $1)
               AND (e.published_at IS NOT NULL OR NOT $2)
               AND (e.webhooks_queued_at IS NOT NULL OR NOT $3)
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id
                               AND d.delivered_at IS NULL AND d.dead_at IS NULL)
             ORDER BY e.id LIMIT ${BATCH}
           ) RETURNING id
         )
         SELECT count(*)::int AS deleted FROM gone`,
        [
          this.config.OUTBOX_RETENTION_HOURS,
          Boolean(this.config.NATS_URL),
          this.config.WEBHOOK_URLS.length > 0,
        ],
      );
      total += deleted;
      if (deleted < BATCH) return total;
    }
  }
}

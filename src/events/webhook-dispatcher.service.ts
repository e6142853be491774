/**
 * Webhooks from the same outbox (enabled by WEBHOOK_URLS): a loop turns every new event into one
 * delivery row per endpoint and, in the same transaction, one pg-boss job per delivery
 * (WEBHOOK_DELIVERY_JOB). Workers on every instance take the jobs in batches and POST each delivery
 * until its endpoint answers 2xx: per endpoint in event order, endpoints in parallel. A failed
 * attempt is recorded with the job of the next one (due after an exponential backoff with jitter,
 * capped at OUTBOX_RETRY_MAX_MS) in one transaction; after WEBHOOK_MAX_ATTEMPTS the delivery is
 * dead. A job whose handler itself fails (the database is down, say) is retried by pg-boss and,
 * when its retries run out, dead-lettered: the delivery is then marked dead.
 */
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobsService } from '../background/jobs.service';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { toEventMessage } from './event.mapper';
import { retryDelayMs } from '../background/backoff';
import { webhookSignature } from './delivery-policy';
import { DueDelivery, WebhookDeliveriesRepository } from './webhook-deliveries.repository';

const FAN_OUT_BATCH = 500;
const DELIVERY_BATCH = 50;
/** A batch runs longer than this only when its endpoints all hang (WEBHOOK_TIMEOUT_MS each). */
const JOB_EXPIRY_SECONDS = 3600;

export const SIGNATURE_HEADER = 'X-Scanqueue-Signature';
/** The queues (created by migration 1765400000000). */
export const WEBHOOK_DELIVERY_JOB = 'webhook-delivery';
export const WEBHOOK_DELIVERY_DEAD_LETTER = `${WEBHOOK_DELIVERY_JOB}.dead`;

interface WebhookDeliveryJob {
  deliveryId: string;
}

@Injectable()
export class WebhookDispatcherService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcherService.name);
  private readonly loop: PeriodicLoop;

  constructor(
    private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly jobs: JobsService,
    private readonly config: AppConfig,
  ) {
    jobs.define<WebhookDeliveryJob>({
      name: WEBHOOK_DELIVERY_JOB,
      options: {
        retryLimit: config.WEBHOOK_MAX_ATTEMPTS,
        retryDelay: Math.max(1, Math.round(config.WEBHOOK_RETRY_BASE_MS / 1000)),
        retryBackoff: true,
        expireInSeconds: JOB_EXPIRY_SECONDS,
        deadLetter: WEBHOOK_DELIVERY_DEAD_LETTER,
      },
    });
    this.loop = new PeriodicLoop(() => this.fanOut(), {
      name: 'Webhook fan-out',
      logger: this.logger,
      intervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      failureDelayMs: () => Math.max(1_000, config.OUTBOX_POLL_INTERVAL_MS),
      onFailure: (error) => this.logger.warn(`Webhook dispatch failed: ${String(error)}`),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.WEBHOOK_URLS.length === 0) return;
    const pollingIntervalSeconds = Math.max(0.5, this.config.OUTBOX_POLL_INTERVAL_MS / 1000);
    await this.jobs.workBatches<WebhookDeliveryJob>(
      WEBHOOK_DELIVERY_JOB,
      { concurrency: 1, batchSize: DELIVERY_BATCH, pollingIntervalSeconds },
      (batch) => this.deliverBatch(batch.map((job) => job.deliveryId)),
    );
    await this.jobs.work<WebhookDeliveryJob>(
      WEBHOOK_DELIVERY_DEAD_LETTER,
      { concurrency: 1, pollingIntervalSeconds: Math.max(pollingIntervalSeconds, 10) },
      async (job) => {
        this.logger.warn(`Webhook delivery ${job.deliveryId} is dead: its job kept failing`);
        await this.deliveries.markDead(job.deliveryId, 'Gave up: its job kept failing');
      },
    );
    this.loop.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    await this.jobs.stopWorking(WEBHOOK_DELIVERY_JOB);
  }

  /** Fans new events out with their jobs; true when a full batch went (more may be waiting). */
  private async fanOut(): Promise<boolean> {
    const events = await this.dataSource.transaction(async (tx) => {
      const fanned = await this.deliveries.fanOut(tx, this.config.WEBHOOK_URLS, FAN_OUT_BATCH);
      await this.jobs.sendMany<WebhookDeliveryJob>(
        tx,
        WEBHOOK_DELIVERY_JOB,
        fanned.deliveryIds.map((deliveryId) => ({ deliveryId })),
      );
      return fanned.events;
    });
    return events === FAN_OUT_BATCH;
  }

  /** Sends a batch's deliveries: per endpoint in event order, endpoints in parallel. */
  private async deliverBatch(deliveryIds: string[]): Promise<void> {
    const due = await this.deliveries.startAttempts(deliveryIds, this.config.WEBHOOK_URLS);
    const byEndpoint = new Map<string, DueDelivery[]>();
    for (const delivery of due)
      byEndpoint.set(delivery.endpoint, [...(byEndpoint.get(delivery.endpoint) ?? []), delivery]);
    await Promise.all(
      [...byEndpoint.values()].map(async (deliveries) => {
        for (const delivery of deliveries) await this.deliver(delivery);
      }),
    );
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const message = toEventMessage(delivery);
    const body = JSON.stringify(message);
    let status: number | null = null;
    let failure: string | null = null;
    try {
      const response = await fetch(delivery.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'scanqueue-webhooks/1',
          [SIGNATURE_HEADER]: webhookSignature(this.config.WEBHOOK_SECRET as string, body),
          'X-Scanqueue-Event': message.type,
          'X-Scanqueue-Delivery': String(delivery.delivery_id),
        },
        body,
        // A redirect is a failure, not an instruction: deliveries go only where configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS),
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) failure = `HTTP ${status}`;
    } catch (error) {
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (failure === null) return this.deliveries.markDelivered(delivery, status);
    const dead = delivery.attempts >= this.config.WEBHOOK_MAX_ATTEMPTS;
    const delayMs = retryDelayMs(
      delivery.attempts,
      this.config.WEBHOOK_RETRY_BASE_MS,
      this.config.OUTBOX_RETRY_MAX_MS,
    );
    // The failed attempt and the job of the next one commit together.
    await this.dataSource.transaction(async (tx) => {
      const recorded = await this.deliveries.markFailed(tx, delivery, {
        status,
        error: failure,
        dead,
        retryDelayMs: delayMs,
      });
      if (recorded && !dead)
        await this.jobs.send<WebhookDeliveryJob>(
          tx,
          WEBHOOK_DELIVERY_JOB,
          { deliveryId: delivery.delivery_id },
          { startAfter: new Date(Date.now() + delayMs) },
        );
    });
    if (dead)
      this.logger.warn(
        `Webhook delivery ${delivery.delivery_id} (event ${delivery.id}) is dead after ${delivery.attempts} attempts: ${failure}`,
      );
  }
}

/**
 * Webhooks from the same outbox (enabled by WEBHOOK_URLS): every event becomes one delivery row per
 * endpoint, and each delivery is POSTed until the endpoint answers 2xx, with exponential backoff and
 * jitter between attempts, and marked dead after WEBHOOK_MAX_ATTEMPTS. Both steps claim rows with
 * `FOR UPDATE SKIP LOCKED`, so every instance can run them; a claimed delivery is leased (its next
 * attempt moved past the request timeout) rather than locked across the HTTP call.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { toEventMessage } from './event.mapper';
import { retryDelayMs, webhookSignature } from './delivery-policy';
import { DueDelivery, WebhookDeliveriesRepository } from './webhook-deliveries.repository';

const FAN_OUT_BATCH = 500;
const DELIVERY_BATCH = 50;
/** Extra lease beyond the request timeout before another instance may retry a claimed delivery. */
const LEASE_MARGIN_MS = 30_000;

export const SIGNATURE_HEADER = 'X-Scanqueue-Signature';

@Injectable()
export class WebhookDispatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcherService.name);
  private readonly loop: PeriodicLoop;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly config: AppConfig,
  ) {
    this.loop = new PeriodicLoop(() => this.round(), {
      name: 'Webhook dispatch',
      logger: this.logger,
      intervalMs: this.config.OUTBOX_POLL_INTERVAL_MS,
      failureDelayMs: () => Math.max(1_000, this.config.OUTBOX_POLL_INTERVAL_MS),
      onFailure: (error) => this.logger.warn(`Webhook dispatch failed: ${String(error)}`),
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_URLS.length > 0) this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }

  /** Fans new events out, then sends what is due; true when either had a full batch. */
  private async round(): Promise<boolean> {
    const fannedOut = await this.deliveries.fanOut(this.config.WEBHOOK_URLS, FAN_OUT_BATCH);
    const sent = await this.deliverDue();
    return fannedOut === FAN_OUT_BATCH || sent === DELIVERY_BATCH;
  }

  /** Claims the due deliveries and sends them: per endpoint in event order, endpoints in parallel. */
  private async deliverDue(): Promise<number> {
    const due = await this.deliveries.claimDue(this.config.WEBHOOK_URLS, DELIVERY_BATCH, {
      timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
      marginMs: LEASE_MARGIN_MS,
    });
    const byEndpoint = new Map<string, DueDelivery[]>();
    for (const delivery of due)
      byEndpoint.set(delivery.endpoint, [...(byEndpoint.get(delivery.endpoint) ?? []), delivery]);
    await Promise.all(
      [...byEndpoint.values()].map(async (deliveries) => {
        for (const delivery of deliveries) await this.deliver(delivery);
      }),
    );
    return due.length;
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
    await this.deliveries.markFailed(delivery, {
      status,
      error: failure,
      dead,
      retryDelayMs: retryDelayMs(
        delivery.attempts,
        this.config.WEBHOOK_RETRY_BASE_MS,
        this.config.OUTBOX_RETRY_MAX_MS,
      ),
    });
    if (dead)
      this.logger.warn(
        `Webhook delivery ${delivery.delivery_id} (event ${delivery.id}) is dead after ${delivery.attempts} attempts: ${failure}`,
      );
  }
}

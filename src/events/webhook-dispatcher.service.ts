/**
 * Webhooks from the same outbox (enabled by WEBHOOK_URLS): every event becomes one delivery row per
 * endpoint, and each delivery is POSTed until the endpoint answers 2xx, with exponential backoff and
 * jitter between attempts, and marked dead after WEBHOOK_MAX_ATTEMPTS. Both steps claim rows with
 * `FOR UPDATE SKIP LOCKED`, so every instance can run them; a claimed delivery is leased (its next
 * attempt moved past the request timeout) rather than locked across the HTTP call.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { StoppableSleep } from './stoppable-sleep';
import { OutboxRow, toEventMessage } from './event.mapper';
import { retryDelayMs, webhookSignature } from './delivery-policy';

const FAN_OUT_BATCH = 500;
const DELIVERY_BATCH = 50;
/** Extra lease beyond the request timeout before another instance may retry a claimed delivery. */
const LEASE_MARGIN_MS = 30_000;

export const SIGNATURE_HEADER = 'X-Scanqueue-Signature';

interface DueDelivery extends OutboxRow {
  delivery_id: string;
  endpoint: string;
  attempts: number;
}

@Injectable()
export class WebhookDispatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcherService.name);
  private readonly idle = new StoppableSleep();
  private loop?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.WEBHOOK_URLS.length === 0) return;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.idle.stop();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.idle.isStopped) {
      try {
        const fannedOut = await this.fanOut();
        const sent = await this.deliverDue();
        if (fannedOut < FAN_OUT_BATCH && sent < DELIVERY_BATCH)
          await this.idle.wait(this.config.OUTBOX_POLL_INTERVAL_MS);
      } catch (error) {
        this.logger.warn(`Webhook dispatch failed: ${String(error)}`);
        await this.idle.wait(Math.max(1_000, this.config.OUTBOX_POLL_INTERVAL_MS));
      }
    }
  }

  /**
   * Turns new events into one delivery per configured endpoint, in one statement.
   * Served by outbox_events_webhooks_pending_idx (id) WHERE webhooks_queued_at IS NULL.
   */
  private async fanOut(): Promise<number> {
    // The UPDATE is a CTE, so query() answers rows (a top-level UPDATE comes back as [rows, count]).
    const [{ queued }]: { queued: number }[] = await this.dataSource.query(
      `WITH pending AS (
         SELECT id FROM outbox_events
         WHERE webhooks_queued_at IS NULL
         ORDER BY id
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       ), deliveries AS (
         INSERT INTO webhook_deliveries (event_id, endpoint)
         SELECT pending.id, endpoint FROM pending CROSS JOIN unnest($1::text[]) AS endpoint
         ON CONFLICT (event_id, endpoint) DO NOTHING
       ), queued AS (
         UPDATE outbox_events e SET webhooks_queued_at = now()
         FROM pending WHERE e.id = pending.id
         RETURNING e.id
       )
       SELECT count(*)::int AS queued FROM queued`,
      [this.config.WEBHOOK_URLS, FAN_OUT_BATCH],
    );
    return queued;
  }

  /**
   * Claims the due deliveries (each leased for as long as the ones before it may take), sends them, and
   * records each outcome. Per endpoint in event order, endpoints in parallel.
   * Served by webhook_deliveries_due_idx (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL.
   */
  private async deliverDue(): Promise<number> {
    // An endpoint's deliveries go one after another, so the n-th is leased for n request timeouts
    // (plus a margin): none is claimed again by another instance while this one may still send it.
    const due: DueDelivery[] = await this.dataSource.query(
      `WITH picked AS (
         SELECT id, endpoint, next_attempt_at FROM webhook_deliveries
         WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
           AND endpoint = ANY($1::text[])
         ORDER BY next_attempt_at, id
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       ), positioned AS (
         SELECT id, row_number() OVER (PARTITION BY endpoint ORDER BY next_attempt_at, id) AS position
         FROM picked
       ), claimed AS (
         UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1,
             next_attempt_at = now() + make_interval(secs => ($3::double precision * p.position + $4) / 1000)
         FROM positioned p WHERE d.id = p.id
         RETURNING d.id, d.event_id, d.endpoint, d.attempts
       )
       SELECT c.id AS delivery_id, c.endpoint, c.attempts,
              e.id, e.event_type, e.subject, e.created_at, e.payload
       FROM claimed c JOIN outbox_events e ON e.id = c.event_id
       ORDER BY c.event_id`,
      [this.config.WEBHOOK_URLS, DELIVERY_BATCH, this.config.WEBHOOK_TIMEOUT_MS, LEASE_MARGIN_MS],
    );
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
    if (failure === null) {
      await this.dataSource.query(
        // Fenced by the attempt: a holder whose lease lapsed does not overwrite a newer attempt.
        `UPDATE webhook_deliveries SET delivered_at = now(), last_status = $2, last_error = NULL
         WHERE id = $1 AND attempts = $3`,
        [delivery.delivery_id, status, delivery.attempts],
      );
      return;
    }
    const dead = delivery.attempts >= this.config.WEBHOOK_MAX_ATTEMPTS;
    await this.dataSource.query(
      `UPDATE webhook_deliveries
       SET last_status = $2, last_error = $3,
           dead_at = CASE WHEN $4 THEN now() END,
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
       WHERE id = $1 AND attempts = $6`,
      [
        delivery.delivery_id,
        status,
        failure.slice(0, 1000),
        dead,
        retryDelayMs(
          delivery.attempts,
          this.config.WEBHOOK_RETRY_BASE_MS,
          this.config.OUTBOX_RETRY_MAX_MS,
        ),
        delivery.attempts,
      ],
    );
    if (dead)
      this.logger.warn(
        `Webhook delivery ${delivery.delivery_id} (event ${delivery.id}) is dead after ${delivery.attempts} attempts: ${failure}`,
      );
  }
}

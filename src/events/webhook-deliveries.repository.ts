/**
 * The webhook deliveries' SQL: the fan-out of new events into one delivery per endpoint, the claim
 * of due deliveries (leased, `FOR UPDATE SKIP LOCKED`, so every instance can run it) and the outcome
 * of an attempt, fenced by the attempt number so a holder whose lease lapsed overwrites nothing.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxRow } from './event.mapper';

export interface DueDelivery extends OutboxRow {
  delivery_id: string;
  endpoint: string;
  attempts: number;
}

export interface DeliveryFailure {
  status: number | null;
  error: string;
  dead: boolean;
  retryDelayMs: number;
}

@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Turns up to `limit` new events into one delivery per endpoint, in one statement; answers how
   * many events. Served by outbox_events_webhooks_pending_idx (id) WHERE webhooks_queued_at IS NULL.
   */
  async fanOut(endpoints: readonly string[], limit: number): Promise<number> {
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
      [endpoints, limit],
    );
    return queued;
  }

  /**
   * Claims up to `limit` due deliveries in event order. An endpoint's deliveries are sent one after
   * another, so its n-th is leased for n request timeouts plus a margin: none is claimed again by
   * another instance while this one may still send it.
   * Served by webhook_deliveries_due_idx (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL.
   */
  claimDue(
    endpoints: readonly string[],
    limit: number,
    lease: { timeoutMs: number; marginMs: number },
  ): Promise<DueDelivery[]> {
    return this.dataSource.query(
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
      [endpoints, limit, lease.timeoutMs, lease.marginMs],
    );
  }

  async markDelivered(delivery: DueDelivery, status: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET delivered_at = now(), last_status = $2, last_error = NULL
       WHERE id = $1 AND attempts = $3`,
      [delivery.delivery_id, status, delivery.attempts],
    );
  }

  /** A failed attempt: the next one after the delay, or none (dead). */
  async markFailed(delivery: DueDelivery, failure: DeliveryFailure): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries
       SET last_status = $2, last_error = $3,
           dead_at = CASE WHEN $4 THEN now() END,
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
       WHERE id = $1 AND attempts = $6`,
      [
        delivery.delivery_id,
        failure.status,
        failure.error.slice(0, 1000),
        failure.dead,
        failure.retryDelayMs,
        delivery.attempts,
      ],
    );
  }
}

/**
 * The webhook deliveries' SQL: the fan-out of new events into one delivery per endpoint (whose
 * pg-boss jobs are sent in the same transaction), the start of an attempt, and its outcome, fenced
 * by the attempt number so that an older attempt never overwrites a newer one.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
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
  /** When the next attempt is due (also its job's start). */
  retryDelayMs: number;
}

@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Turns up to `limit` new events into one delivery per endpoint, in one statement; answers how
   * many events, and the new deliveries in event order (a delivery that already existed is kept).
   * Served by outbox_events_webhooks_pending_idx (id) WHERE webhooks_queued_at IS NULL.
   */
  async fanOut(
    tx: EntityManager,
    endpoints: readonly string[],
    limit: number,
  ): Promise<{ events: number; deliveryIds: string[] }> {
    const [row]: { events: number; delivery_ids: string[] | null }[] = await tx.query(
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
         RETURNING id
       ), queued AS (
         UPDATE outbox_events e SET webhooks_queued_at = now()
         FROM pending WHERE e.id = pending.id
         RETURNING e.id
       )
       SELECT (SELECT count(*)::int FROM queued) AS events,
              (SELECT array_agg(id::text ORDER BY id) FROM deliveries) AS delivery_ids`,
      [endpoints, limit],
    );
    return { events: row.events, deliveryIds: row.delivery_ids ?? [] };
  }

  /**
   * Starts the next attempt of each delivery still owed to a configured endpoint (attempts + 1,
   * its fencing token) and answers them with their events in event order.
   */
  startAttempts(
    deliveryIds: readonly string[],
    endpoints: readonly string[],
  ): Promise<DueDelivery[]> {
    return this.dataSource.query(
      `WITH started AS (
         UPDATE webhook_deliveries d SET attempts = d.attempts + 1
         WHERE d.id = ANY($1::bigint[]) AND d.delivered_at IS NULL AND d.dead_at IS NULL
           AND d.endpoint = ANY($2::text[])
         RETURNING d.id, d.event_id, d.endpoint, d.attempts
       )
       SELECT s.id AS delivery_id, s.endpoint, s.attempts,
              e.id, e.event_type, e.subject, e.created_at, e.payload
       FROM started s JOIN outbox_events e ON e.id = s.event_id
       ORDER BY s.event_id, s.id`,
      [deliveryIds, endpoints],
    );
  }

  async markDelivered(delivery: DueDelivery, status: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET delivered_at = now(), last_status = $2, last_error = NULL
       WHERE id = $1 AND attempts = $3`,
      [delivery.delivery_id, status, delivery.attempts],
    );
  }

  /** A failed attempt: the next one after the delay, or none (dead). False when superseded. */
  async markFailed(
    tx: EntityManager,
    delivery: DueDelivery,
    failure: DeliveryFailure,
  ): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `WITH failed AS (
         UPDATE webhook_deliveries
         SET last_status = $2, last_error = $3,
             dead_at = CASE WHEN $4 THEN now() END,
             next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
         WHERE id = $1 AND attempts = $6
         RETURNING id
       )
       SELECT id FROM failed`,
      [
        delivery.delivery_id,
        failure.status,
        failure.error.slice(0, 1000),
        failure.dead,
        failure.retryDelayMs,
        delivery.attempts,
      ],
    );
    return rows.length === 1;
  }

  /** A delivery whose job ran out of retries (its handler kept failing): given up. */
  async markDead(deliveryId: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET dead_at = now(), last_error = coalesce(last_error, $2)
       WHERE id = $1 AND delivered_at IS NULL AND dead_at IS NULL`,
      [deliveryId, error.slice(0, 1000)],
    );
  }
}

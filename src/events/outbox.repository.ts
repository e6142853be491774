/**
 * The outbox's SQL outside the transitions that write it: the relay's round (leader lock, the
 * unpublished head, the outcome of a publish) and the retention DELETE. Statements that must answer
 * rows from an UPDATE/DELETE wrap it in a CTE (TypeORM answers a bare one with [rows, count]).
 * And the outbox INSERT a domain statement includes as one of its CTEs, so a change and its event
 * commit or roll back together and no change goes without its event: the domain module supplies
 * the event type and the SQL expressions of its aggregate id and payload.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { OutboxRow } from './event.mapper';
import { EVENT_MESSAGE_MAX_CHARS } from './event-types';

/** pg advisory-lock key held per relay round: one relay at a time keeps the stream in id order. */
const RELAY_LOCK_KEY = 0x7363616e6f;

export type UnpublishedRow = OutboxRow & { due: boolean; attempts: number };

export interface RetentionRule {
  retentionHours: number;
  /** NATS_URL is set: a row must have been published first. */
  publishes: boolean;
  /** WEBHOOK_URLS is set: a row must have been fanned out, its deliveries made or given up. */
  delivers: boolean;
}

export interface OutboxInsert {
  /** The event's type, also its subject (under NATS_SUBJECT_PREFIX): `<root>.<name>`. */
  type: string;
  /** The rows the events are of: a CTE or subquery name, with its alias (`moved t`). */
  from: string;
  /** SQL expression of the event's aggregate id (the changed row's id). */
  aggregateId: string;
  /** SQL expression of the stored payload (a jsonb_build_object(…)). */
  payload: string;
}

/** Written into statement text: only plain event names, never anything a client sent. */
const EVENT_TYPE = /^[a-z]+(\.[a-z_]+)+$/;

/** One event per row of `from`, as a CTE body. */
export function outboxInsertSql(event: OutboxInsert): string {
  if (!EVENT_TYPE.test(event.type)) throw new Error(`Not an event type: ${event.type}`);
  return `INSERT INTO outbox_events (event_type, subject, aggregate_id, payload)
       SELECT '${event.type}', '${event.type}', ${event.aggregateId}, ${event.payload}
       FROM ${event.from}`;
}

/** A message copied into an event, cut to EVENT_MESSAGE_MAX_CHARS so an event fits a NATS message. */
export function outboxMessageSql(messageSql: string): string {
  return `left(${messageSql}, ${EVENT_MESSAGE_MAX_CHARS})`;
}

@Injectable()
export class OutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` as the only relay (one transaction), or answers undefined when another one is. */
  relayTransaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T | undefined> {
    return this.dataSource.transaction(async (tx) => {
      const [{ leader }]: { leader: boolean }[] = await tx.query(
        'SELECT pg_try_advisory_xact_lock($1) AS leader',
        [RELAY_LOCK_KEY],
      );
      return leader ? work(tx) : undefined;
    });
  }

  /**
   * The oldest unpublished rows in id order, not row-locked (the relay lock makes this the only
   * relay; SKIP LOCKED would skip a row the webhook fan-out holds and publish later ones first).
   * Served by outbox_events_unpublished_idx (id) WHERE published_at IS NULL.
   */
  unpublished(tx: EntityManager, limit: number): Promise<UnpublishedRow[]> {
    return tx.query(
      `SELECT id, event_type, subject, created_at, payload, attempts, next_attempt_at <= now() AS due
       FROM outbox_events
       WHERE published_at IS NULL
       ORDER BY id
       LIMIT $1`,
      [limit],
    );
  }

  async deferPublish(tx: EntityManager, id: string, error: string, delayMs: number): Promise<void> {
    await tx.query(
      `UPDATE outbox_events
       SET attempts = attempts + 1, last_error = $2,
           next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE id = $1`,
      [id, error.slice(0, 1000), delayMs],
    );
  }

  async markPublished(tx: EntityManager, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.query(
      `UPDATE outbox_events SET published_at = now(), last_error = NULL WHERE id = ANY($1::bigint[])`,
      [ids],
    );
  }

  /** Deletes up to `batch` rows past retention that owe nothing more; answers how many went. */
  async pruneBatch(rule: RetentionRule, batch: number): Promise<number> {
    const [{ deleted }]: { deleted: number }[] = await this.dataSource.query(
      `WITH gone AS (
         DELETE FROM outbox_events WHERE id IN (
           SELECT e.id FROM outbox_events e
           WHERE e.created_at < now() - make_interval(hours => $1)
             AND (e.published_at IS NOT NULL OR NOT $2)
             AND (e.webhooks_queued_at IS NOT NULL OR NOT $3)
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id
                             AND d.delivered_at IS NULL AND d.dead_at IS NULL)
           ORDER BY e.id LIMIT $4
         ) RETURNING id
       )
       SELECT count(*)::int AS deleted FROM gone`,
      [rule.retentionHours, rule.publishes, rule.delivers, batch],
    );
    return deleted;
  }
}

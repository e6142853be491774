/**
 * Turns an outbox row into the versioned message documented in docs/events.md (JetStream and
 * webhooks alike). The envelope (specVersion, id, type, occurredAt) is built here; the rest of
 * each message by the module that raises the event (tasks/task-events.ts, scans/upload-events.ts),
 * registered by the subject root of its event types. Every field is named by a mapper; nothing from
 * the row passes through unread.
 */
import { EVENT_SPEC_VERSION } from './event-types';

/** An outbox row as the relays read it (snake_case, straight from PostgreSQL). */
export interface OutboxRow {
  id: string;
  event_type: string;
  subject: string;
  created_at: Date;
  /** What the raising module's SQL stored (timestamps as PostgreSQL's JSON renders them). */
  payload: Record<string, unknown>;
}

/** The fields every event message starts with. */
export interface EventEnvelope {
  specVersion: number;
  /** The outbox id: unique, increasing in commit order per aggregate; the JetStream msgID. */
  id: string;
  type: string;
  /** ISO-8601 UTC time the change committed (its transaction's time). */
  occurredAt: string;
}

/** Builds an event's own fields from what its statement stored. */
export type EventBodyMapper = (row: OutboxRow) => Record<string, unknown>;

const MAPPERS = new Map<string, EventBodyMapper>();

/** Registers the mapper of the events under a subject root (`task`, `scan`). */
export function registerEventMapper(root: string, mapper: EventBodyMapper): void {
  MAPPERS.set(root, mapper);
}

export function toEventMessage(row: OutboxRow): EventEnvelope & Record<string, unknown> {
  const root = row.event_type.split('.')[0];
  const mapper = MAPPERS.get(root);
  if (!mapper) throw new Error(`Outbox event ${row.id} is of an unknown type ${row.event_type}`);
  return {
    specVersion: EVENT_SPEC_VERSION,
    id: String(row.id),
    type: row.event_type,
    occurredAt: row.created_at.toISOString(),
    ...mapper(row),
  };
}

/** A stored timestamp in ISO-8601 UTC. */
export const isoTime = (value: string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

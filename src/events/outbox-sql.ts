/**
 * The outbox INSERT a domain statement includes as one of its CTEs, so a change and its event
 * commit or roll back together and no change goes without its event. Generic: the domain module
 * supplies the event type and the SQL expressions of its aggregate id and payload.
 */
import { EVENT_MESSAGE_MAX_CHARS } from './event-types';

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

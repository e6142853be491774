/** The history columns and the outbox INSERT every task statement appends (task-transitions.repository.ts). */
import { outboxInsertSql, outboxMessageSql } from '../events/outbox.repository';
import type { StatusActorType } from './scan-status.entity';
import { TaskEventType } from './task-events';
import type { StatusRow } from './task-rows';

export const HISTORY_COLUMNS = 'task_id, message, from_status, to_status, actor_type, actor_id';

/**
 * The outbox INSERT of a statement's event, as a CTE body: one `type` event per row of `source`
 * (a CTE or subquery with scan_queue_tasks' columns as they are after the change), carrying
 * `messageSql` (an SQL expression: the history row's message). The payload is what
 * toTaskEventMessage reads; it names no key or key hash.
 */
export function taskOutboxInsert(
  type: TaskEventType,
  source: string,
  messageSql: string,
  options: { withScan?: boolean } = {},
): string {
  const scan = options.withScan
    ? `, 'scan', (SELECT jsonb_build_object('id', s.id, 'sha256', s.sha256, 'sizeBytes', s.size_bytes)
                  FROM scans s WHERE s.task_id = t.id)`
    : '';
  return outboxInsertSql({
    type,
    from: `${source} t`,
    aggregateId: 't.id',
    payload: `jsonb_build_object(
         'task', jsonb_build_object(
           'id', t.id, 'applicationId', t.application_id, 'scanner', t.scanner, 'status', t.status,
           'agentId', t.scan_agent_id, 'timeoutSeconds', t.timeout_seconds,
           -- Credentials in a target URL (user:password@) stay out of events.
           'targetUrl', regexp_replace(t.target_url, '^([a-z][a-z0-9+.-]*://)[^/?#@]*@', '\\1', 'i'),
           'createdAt', t.created_at, 'startTime', t.start_time, 'endTime', t.end_time,
           'timeoutTime', t.timeout_time, 'priority', t.priority, 'attempt', t.attempt,
           'attempts', t.retry_limit + 1, 'retryOfTaskId', t.retry_of_task_id, 'notBefore', t.not_before),
         'message', ${outboxMessageSql(messageSql)}${scan})`,
  });
}

/** A history row a statement wrote (HISTORY_COLUMNS' values, its id and time), as the JSON reads it. */
export function writtenStatusRow(
  id: StatusRow['id'],
  createdAt: Date,
  message: string,
  change: { from: number | null; to: number | null },
  actor: { type: StatusActorType; id: number | null },
): StatusRow {
  return {
    id,
    message,
    created_at: createdAt,
    from_status: change.from,
    to_status: change.to,
    actor_type: actor.type,
    actor_id: actor.id,
    active: true,
  };
}

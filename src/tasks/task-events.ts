/**
 * The task lifecycle events: their names (also their NATS subjects under NATS_SUBJECT_PREFIX),
 * which status change raises which, the payload the transition statements store (SQL) and the
 * message built from it (docs/events.md). The outbox itself is events/'s.
 */
import { isoTime, OutboxRow, registerEventMapper } from '../events/event.mapper';
import { outboxInsertSql, outboxMessageSql } from '../events/outbox-sql';
import { resolveScanner } from '../scans/scanner-types';
import { statusString, TaskStatus } from './task-status';

export const TASK_EVENT_TYPES = [
  'task.queued',
  'task.assigned',
  'task.status',
  'task.completed',
  'task.failed',
  'task.timedout',
  'task.cancelled',
] as const;

export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

/** The event a move into a status raises. */
export const EVENT_OF_STATUS: Partial<Record<TaskStatus, TaskEventType>> = {
  [TaskStatus.QUEUED]: 'task.queued',
  [TaskStatus.ASSIGNED]: 'task.assigned',
  [TaskStatus.COMPLETE_SUCCESSFUL]: 'task.completed',
  [TaskStatus.COMPLETE_FAILED]: 'task.failed',
  [TaskStatus.COMPLETE_TIMEDOUT]: 'task.timedout',
  [TaskStatus.COMPLETE_DELETED]: 'task.cancelled',
};

export function eventOfStatus(to: TaskStatus): TaskEventType {
  const type = EVENT_OF_STATUS[to];
  if (!type) throw new Error(`No event for a move into status ${to}`);
  return type;
}

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
           'timeoutTime', t.timeout_time),
         'message', ${outboxMessageSql(messageSql)}${scan})`,
  });
}

/** A task as taskOutboxInsert stores it (timestamps as PostgreSQL's JSON renders them). */
interface StoredTask {
  id: number;
  applicationId: number;
  scanner: string;
  status: number;
  agentId: number | null;
  /** The task's own target; null when it scans its application's URL. */
  targetUrl: string | null;
  timeoutSeconds: number;
  createdAt: string;
  startTime: string | null;
  endTime: string | null;
  timeoutTime: string | null;
}

interface StoredTaskEvent {
  task: StoredTask;
  message: string | null;
  scan?: { id: number; sha256: string; sizeBytes: number } | null;
}

/** A task event's own fields (after the envelope event.mapper.ts builds); times in ISO-8601 UTC. */
export interface TaskEventBody {
  task: StoredTask & { scannerShortName: string | null; statusName: string };
  /** The status-history message of the change (at most 4,000 characters). */
  message: string | null;
  /** task.completed only: the stored result file. */
  scan?: { id: number; sha256: string; sizeBytes: number };
}

export function toTaskEventBody(row: OutboxRow): TaskEventBody {
  const { task, message, scan } = row.payload as unknown as StoredTaskEvent;
  if (!task) throw new Error(`Task event ${row.id} has no task`);
  return {
    task: {
      id: task.id,
      applicationId: task.applicationId,
      scanner: task.scanner,
      scannerShortName: resolveScanner(task.scanner)?.shortName ?? null,
      status: task.status,
      statusName: statusString(task.status),
      agentId: task.agentId,
      targetUrl: task.targetUrl,
      timeoutSeconds: task.timeoutSeconds,
      createdAt: isoTime(task.createdAt) as string,
      startTime: isoTime(task.startTime),
      endTime: isoTime(task.endTime),
      timeoutTime: isoTime(task.timeoutTime),
    },
    message,
    ...(scan
      ? { scan: { id: scan.id, sha256: scan.sha256, sizeBytes: Number(scan.sizeBytes) } }
      : {}),
  };
}

registerEventMapper('task', (row) => ({ ...toTaskEventBody(row) }));

/**
 * The task lifecycle events: their names (also their NATS subjects under NATS_SUBJECT_PREFIX),
 * which status change raises which, and the message built from the payload the transition
 * statements store (task-transitions.repository.ts; docs/events.md). The outbox itself is events/'s.
 */
import { isoTime, OutboxRow, registerEventMapper } from '../events/event.mapper';
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
  /** Issue 14 (absent in older events: 0, 1, 1, null, null). */
  priority?: number;
  /** 1-based; `attempts` is the most the task's retry policy allows. */
  attempt?: number;
  attempts?: number;
  /** The failed or timed-out task this one retries. */
  retryOfTaskId?: number | null;
  /** A retry is not claimed before this time. */
  notBefore?: string | null;
}

interface StoredTaskEvent {
  task: StoredTask;
  message: string | null;
  scan?: { id: number; sha256: string; sizeBytes: number } | null;
}

/** A task event's own fields (after the envelope event.mapper.ts builds); times in ISO-8601 UTC. */
export interface TaskEventBody {
  task: Required<StoredTask> & { scannerShortName: string | null; statusName: string };
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
      priority: task.priority ?? 0,
      attempt: task.attempt ?? 1,
      attempts: task.attempts ?? 1,
      retryOfTaskId: task.retryOfTaskId ?? null,
      notBefore: isoTime(task.notBefore ?? null),
    },
    message,
    ...(scan
      ? { scan: { id: scan.id, sha256: scan.sha256, sizeBytes: Number(scan.sizeBytes) } }
      : {}),
  };
}

registerEventMapper('task', (row) => ({ ...toTaskEventBody(row) }));

/**
 * The task lifecycle events: their names (also their NATS subjects under NATS_SUBJECT_PREFIX) and
 * which status change raises which. Data, so the SQL that writes them and the docs agree.
 */
import { TaskStatus } from '../tasks/task-status';

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

/**
 * The events of a direct scan upload (ThreadFix's `POST /applications/{id}/upload`, no task): its
 * arrival and the end of its import. Subjects `<prefix>scan.…`, in the same stream as the tasks'.
 */
export const UPLOAD_EVENT_TYPES = ['scan.uploaded', 'scan.imported', 'scan.import_failed'] as const;

export type UploadEventType = (typeof UPLOAD_EVENT_TYPES)[number];

/** The event an upload's move into an import phase raises; parsing and merging are history only. */
export const EVENT_OF_UPLOAD_PHASE: Partial<Record<string, UploadEventType>> = {
  queued: 'scan.uploaded',
  done: 'scan.imported',
  failed: 'scan.import_failed',
};

/** The subjects (under NATS_SUBJECT_PREFIX) the stream must capture: every event type above. */
export const EVENT_SUBJECT_ROOTS = ['task', 'scan'] as const;

/** The event a move into a status raises (QUEUED and ASSIGNED have their own statements). */
export const EVENT_OF_STATUS: Partial<Record<TaskStatus, TaskEventType>> = {
  [TaskStatus.QUEUED]: 'task.queued',
  [TaskStatus.ASSIGNED]: 'task.assigned',
  [TaskStatus.COMPLETE_SUCCESSFUL]: 'task.completed',
  [TaskStatus.COMPLETE_FAILED]: 'task.failed',
  [TaskStatus.COMPLETE_TIMEDOUT]: 'task.timedout',
  [TaskStatus.COMPLETE_DELETED]: 'task.cancelled',
};

/** Version of the event message's shape (event.mapper.ts); bumped on an incompatible change. */
export const EVENT_SPEC_VERSION = 1;

/** Longest status message copied into an event, so an event always fits a NATS message. */
export const EVENT_MESSAGE_MAX_CHARS = 4000;

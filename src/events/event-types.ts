/**
 * What every event shares, whichever module raises it: its version, the bound on its message and
 * the subject roots the stream captures. The events themselves (names, payloads, the status or
 * phase change that raises each) belong to their modules: tasks/task-events.ts, and the upload
 * events below (data only, so the SQL that writes them and the docs agree).
 */

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

/** The subjects (under NATS_SUBJECT_PREFIX) the stream must capture: every event type's root. */
export const EVENT_SUBJECT_ROOTS = ['task', 'scan', 'fleet'] as const;

/** Version of the event message's shape (the modules' mappers); bumped on an incompatible change. */
export const EVENT_SPEC_VERSION = 1;

/** Longest status message copied into an event, so an event always fits a NATS message. */
export const EVENT_MESSAGE_MAX_CHARS = 4000;

/**
 * The one place that decides what an event looks like on the wire (JetStream and webhooks alike):
 * the outbox row's columns and stored data become the versioned message documented in
 * docs/events.md. Every field is named here; nothing from the row passes through unread.
 */
import { resolveScanner } from '../scans/scanner-types';
import { statusString } from '../tasks/task-status';
import { EVENT_SPEC_VERSION } from './event-types';

/** An outbox row as the relays read it (snake_case, straight from PostgreSQL). */
export interface OutboxRow {
  id: string;
  event_type: string;
  subject: string;
  created_at: Date;
  payload: StoredEventData;
}

/**
 * What task-transitions.ts outboxInsert() stores for a task event, or scan-upload-history.ts for an
 * upload event (timestamps as PostgreSQL's JSON renders them).
 */
interface StoredEventData {
  task?: {
    id: number;
    applicationId: number;
    scanner: string;
    status: number;
    agentId: number | null;
    targetUrl: string | null;
    timeoutSeconds: number;
    createdAt: string;
    startTime: string | null;
    endTime: string | null;
    timeoutTime: string | null;
  };
  message: string | null;
  scan?: StoredScan | null;
  upload?: {
    id: number;
    applicationId: number;
    apiKeyId: number;
    originalFilename: string;
    createdAt: string;
  };
  phase?: string;
}

interface StoredScan {
  id: number;
  sha256: string;
  sizeBytes: number;
  scanner?: string;
}

export interface TaskEventMessage {
  specVersion: number;
  /** The outbox id: unique, increasing in commit order per task; the JetStream msgID. */
  id: string;
  type: string;
  /** ISO-8601 UTC time the change committed (its transaction's time). */
  occurredAt: string;
  task: {
    id: number;
    applicationId: number;
    scanner: string;
    scannerShortName: string | null;
    status: number;
    statusName: string;
    agentId: number | null;
    /** The task's own target; null when it scans its application's URL. */
    targetUrl: string | null;
    timeoutSeconds: number;
    createdAt: string;
    startTime: string | null;
    endTime: string | null;
    timeoutTime: string | null;
  };
  /** The status-history message of the change (at most 4,000 characters). */
  message: string | null;
  /** task.completed only: the stored result file. */
  scan?: { id: number; sha256: string; sizeBytes: number };
}

/** A direct scan upload's event (scan.uploaded, scan.imported, scan.import_failed). */
export interface UploadEventMessage {
  specVersion: number;
  id: string;
  type: string;
  occurredAt: string;
  upload: {
    /** ThreadFix's pending-scan id. */
    id: number;
    applicationId: number;
    /** The API key that uploaded it. */
    apiKeyId: number;
    originalFilename: string;
    createdAt: string;
  };
  scan: {
    id: number;
    scanner: string;
    scannerShortName: string | null;
    sha256: string;
    sizeBytes: number;
  };
  /** The import phase the upload entered: queued, done or failed. */
  phase: string;
  /** The upload's history message (at most 4,000 characters). */
  message: string | null;
}

const iso = (value: string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

export function toEventMessage(row: OutboxRow): TaskEventMessage | UploadEventMessage {
  const { task, message, scan, upload } = row.payload;
  if (upload) return toUploadEventMessage(row, upload);
  if (!task) throw new Error(`Outbox event ${row.id} has neither a task nor an upload`);
  return {
    specVersion: EVENT_SPEC_VERSION,
    id: String(row.id),
    type: row.event_type,
    occurredAt: row.created_at.toISOString(),
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
      createdAt: iso(task.createdAt) as string,
      startTime: iso(task.startTime),
      endTime: iso(task.endTime),
      timeoutTime: iso(task.timeoutTime),
    },
    message,
    ...(scan
      ? { scan: { id: scan.id, sha256: scan.sha256, sizeBytes: Number(scan.sizeBytes) } }
      : {}),
  };
}

function toUploadEventMessage(
  row: OutboxRow,
  upload: NonNullable<StoredEventData['upload']>,
): UploadEventMessage {
  const { scan, phase, message } = row.payload;
  if (!scan || !scan.scanner) throw new Error(`Upload event ${row.id} has no scan`);
  return {
    specVersion: EVENT_SPEC_VERSION,
    id: String(row.id),
    type: row.event_type,
    occurredAt: row.created_at.toISOString(),
    upload: {
      id: upload.id,
      applicationId: upload.applicationId,
      apiKeyId: upload.apiKeyId,
      originalFilename: upload.originalFilename,
      createdAt: iso(upload.createdAt) as string,
    },
    scan: {
      id: scan.id,
      scanner: scan.scanner,
      scannerShortName: resolveScanner(scan.scanner)?.shortName ?? null,
      sha256: scan.sha256,
      sizeBytes: Number(scan.sizeBytes),
    },
    phase: phase ?? '',
    message,
  };
}

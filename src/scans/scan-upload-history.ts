/**
 * All SQL of a direct upload's history: the history row of each phase it enters (its arrival, then
 * each phase of its import) and, for the phases other services hear about, the outbox event
 * (src/events) in the same statement, so a phase, its history row and its event commit or roll
 * back together, as task-transitions.ts does for tasks.
 */
import { EntityManager } from 'typeorm';
import { EVENT_MESSAGE_MAX_CHARS, EVENT_OF_UPLOAD_PHASE } from '../events/event-types';
import type { ImportPhase } from '../imports/scan-import.entity';
import type { UploadActorType } from './scan-upload.entity';

export interface UploadActor {
  type: UploadActorType;
  id: number | null;
}

export const SYSTEM: UploadActor = { type: 'system', id: null };

/**
 * Appends the history row of `phase` to the upload that stored scan `scanId`, with its event when
 * the phase has one (EVENT_OF_UPLOAD_PHASE). A scan of a task has no upload: nothing is written and
 * the answer is false, so the import runner can call this for every scan it imports.
 */
export async function recordUploadPhase(
  tx: EntityManager,
  scanId: number,
  phase: ImportPhase,
  message: string,
  actor: UploadActor = SYSTEM,
): Promise<boolean> {
  const rows: unknown[] = await tx.query(
    `WITH upload AS (
       SELECT u.id, u.application_id, u.api_key_id, u.original_filename, u.created_at,
              s.id AS scan_id, s.scanner, s.sha256, s.size_bytes
       FROM scans s JOIN scan_uploads u ON u.id = s.upload_id
       WHERE s.id = $1
     ), history AS (
       INSERT INTO scan_upload_history (upload_id, phase, message, actor_type, actor_id)
       SELECT id, $2, $3, $4, $5 FROM upload
       RETURNING id
     ), outbox AS (
       INSERT INTO outbox_events (event_type, subject, aggregate_id, payload)
       SELECT $6::varchar, $6::varchar, u.id, jsonb_build_object(
         'upload', jsonb_build_object(
           'id', u.id, 'applicationId', u.application_id, 'apiKeyId', u.api_key_id,
           'originalFilename', u.original_filename, 'createdAt', u.created_at),
         'scan', jsonb_build_object(
           'id', u.scan_id, 'scanner', u.scanner, 'sha256', u.sha256, 'sizeBytes', u.size_bytes),
         'phase', $2::text,
         'message', left($3::text, ${EVENT_MESSAGE_MAX_CHARS}))
       FROM upload u
       WHERE $6::varchar IS NOT NULL
     )
     SELECT id FROM history`,
    [scanId, phase, message, actor.type, actor.id, EVENT_OF_UPLOAD_PHASE[phase] ?? null],
  );
  return rows.length === 1;
}

/** The upload row, written in the transaction that records its scan. */
export async function insertScanUpload(
  tx: EntityManager,
  upload: { applicationId: number; apiKeyId: number; originalFilename: string },
): Promise<{ id: number; created_at: Date }> {
  const rows: { id: number; created_at: Date }[] = await tx.query(
    `INSERT INTO scan_uploads (application_id, api_key_id, original_filename)
     VALUES ($1, $2, $3) RETURNING id, created_at`,
    [upload.applicationId, upload.apiKeyId, upload.originalFilename.slice(0, 255)],
  );
  return rows[0];
}

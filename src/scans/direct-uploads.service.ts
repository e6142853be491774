/**
 * Direct scan upload (ThreadFix's `POST /applications/{id}/upload`: a person or a CI job, no agent)
 * and its pending-scan status. The file takes completeTask's path (scan-upload.ts: same limits, XML
 * check, storage commit, scan row and import run); the upload row, the scan, its import and the
 * `scan.uploaded` event commit in one transaction. The import runner then moves it on, and the
 * pending-scan status reports where that run is.
 */
import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { DataSource, EntityManager } from 'typeorm';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope, teamInScopeSql, teamScopeParam } from '../auth/team-scope';
import type { ImportPhase } from '../imports/scan-import.entity';
import { readMultipartForm } from '../rest/multipart-form';
import { BadRestParameter, NotFound } from '../rest/rest-error';
import { insertScanUpload, recordUploadPhase } from './scan-upload-history';
import { ScanIntake } from './scan-upload';
import { UploadSlots } from './upload-slots';
import { PendingScanJson } from './threadfix-scan.dto';

// ThreadFix's messages (ApplicationRestController, UploadScanServiceImpl).
export const INVALID_APPLICATION_ID = 'Invalid application ID.';
export const NO_FILES_SELECTED = 'No files selected.';
export const UPLOAD_STARTED = 'Scan upload process started.';
// scanqueue's own (ThreadFix's text is unknown).
export const noPendingScan = (id: number, applicationId: number) =>
  `No pending scan found with id ${id} for application ${applicationId}`;

/** ThreadFix Pro's pending-scan status for each import phase, and its UI text. */
const PENDING_STATUS: Record<ImportPhase, { status: string; text: string }> = {
  queued: { status: 'QUEUED', text: 'Queued' },
  parsing: { status: 'FINDINGS_GENERATING', text: 'Generating Findings' },
  merging: { status: 'APPLICATION_MERGING', text: 'Merging Application Findings' },
  done: { status: 'DONE', text: 'Scan Processing Completed. Statistics Update Queued.' },
  failed: { status: 'SCAN_INTERRUPTED', text: 'Scan processing was interrupted' },
};

interface PendingScanRow {
  id: number;
  application_id: number;
  original_filename: string;
  created_at: Date;
  modified_at: Date | null;
  scan_id: number;
  phase: ImportPhase | null;
  error: string | null;
}

@Injectable()
export class DirectUploadsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly intake: ScanIntake,
    private readonly uploadSlots: UploadSlots,
  ) {}

  /**
   * The application is checked before the body is read (a refused upload costs nothing), and again
   * under a share lock in the transaction that records the scan (it may have been deactivated
   * meanwhile). The upload holds a slot of its API key meanwhile (UploadSlots, shared with
   * completeTask; 429 when none is free). Answers the pending-scan (upload) id.
   */
  async upload(
    caller: AuthenticatedCaller,
    applicationId: number,
    request: FastifyRequest,
  ): Promise<number> {
    await this.reachableApplication(this.dataSource.manager, caller, applicationId);
    const release = this.uploadSlots.forApiKey(caller.apiKeyId);
    try {
      return await this.intake.run(async (session) => {
        let sawFile = false;
        // ThreadFix's optional `channelId` (the scanner) is not needed: the file says what it is.
        await readMultipartForm(request, this.intake.limits, ['file'], async (part) => {
          sawFile = true;
          await session.receive(part.stream, part.filename);
        });
        const file = session.file;
        if (!sawFile || !file) throw new BadRestParameter(NO_FILES_SELECTED);
        await session.commit();
        return this.dataSource.transaction(async (tx) => {
          await this.reachableApplication(tx, caller, applicationId, { lock: true });
          const upload = await insertScanUpload(tx, {
            applicationId,
            apiKeyId: caller.apiKeyId,
            originalFilename: file.filename || 'scan.xml',
          });
          const scan = await session.record(tx, applicationId, { uploadId: upload.id });
          await recordUploadPhase(
            tx,
            scan.id,
            'queued',
            `Scan file uploaded at: ${upload.created_at.toISOString()}; its import is queued`,
            { type: 'api_key', id: caller.apiKeyId },
          );
          return upload.id;
        });
      });
    } finally {
      release();
    }
  }

  /**
   * The pending-scan status of an upload of this application: where its import run is, the scan
   * once DONE, the error once failed. `message` is its text, as in ThreadFix Pro.
   */
  async pendingStatus(
    scope: TeamScope,
    applicationId: number,
    uploadId: number,
  ): Promise<{ message: string; status: PendingScanJson }> {
    const rows: PendingScanRow[] = await this.dataSource.query(
      `SELECT u.id, u.application_id, u.original_filename, u.created_at,
              (SELECT max(h.created_at) FROM scan_upload_history h WHERE h.upload_id = u.id) AS modified_at,
              s.id AS scan_id, i.phase, i.error
       FROM scan_uploads u
       JOIN applications a ON a.id = u.application_id
       JOIN scans s ON s.upload_id = u.id
       LEFT JOIN scan_imports i ON i.scan_id = s.id
       WHERE u.id = $1 AND u.application_id = $2 AND ${teamInScopeSql('$3', 'a.team_id')}`,
      [uploadId, applicationId, teamScopeParam(scope)],
    );
    const [row] = rows;
    if (!row) throw new NotFound(noPendingScan(uploadId, applicationId));
    const phase = row.phase ?? 'queued';
    const { status, text } = PENDING_STATUS[phase];
    return {
      message: text,
      status: {
        id: row.id,
        modifiedDate: (row.modified_at ?? row.created_at).getTime(),
        active: true,
        fileDataList: [{ id: row.id, originalName: row.original_filename }],
        appId: row.application_id,
        errorMessage: phase === 'failed' ? (row.error ?? text) : null,
        status,
        error: phase === 'failed',
        ...(phase === 'done' ? { scanId: row.scan_id } : {}),
        type: 'upload',
        name: row.original_filename,
        time: row.created_at.getTime(),
        scanMessage: text,
      },
    };
  }

  /** An active application of an active team the caller reaches, else ThreadFix's 404. */
  private async reachableApplication(
    m: EntityManager,
    scope: TeamScope,
    applicationId: number,
    options: { lock?: boolean } = {},
  ): Promise<void> {
    const rows: unknown[] = await m.query(
      `SELECT 1 FROM applications a JOIN teams t ON t.id = a.team_id
       WHERE a.id = $1 AND a.active AND t.active AND ${teamInScopeSql('$2', 'a.team_id')}
       ${options.lock ? 'FOR SHARE OF a' : ''}`,
      [applicationId, teamScopeParam(scope)],
    );
    if (rows.length === 0) throw new NotFound(INVALID_APPLICATION_ID);
  }
}

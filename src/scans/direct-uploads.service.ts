/**
 * Direct scan upload (ThreadFix's `POST /applications/{id}/upload`: a person or a CI job, no agent)
 * and its pending-scan status. The file takes completeTask's path (scan-upload.ts: same limits, XML
 * check, storage commit, scan row and import run); the upload row, the scan, its import and the
 * `scan.uploaded` event commit in one transaction. The import runner then moves it on, and the
 * pending-scan status reports where that run is.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import type { ImportPhase } from './import-phase';
import { BadRestParameter, NotFound } from '../rest/rest-error';
import { insertScanUpload, recordUploadPhase } from './scans.repository';
import { ScanIntakeSession } from './scan-upload';
import { ScanUploadsRepository } from './scan-uploads.repository';
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

@Injectable()
export class DirectUploadsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly uploadSlots: UploadSlots,
    private readonly uploads: ScanUploadsRepository,
  ) {}

  /**
   * The application is checked before the body is read (a refused upload costs nothing), and the
   * upload takes a slot of its API key (UploadSlots, shared with completeTask; 429 when none is
   * free) until the returned release is called.
   */
  async begin(caller: AuthenticatedCaller, applicationId: number): Promise<() => void> {
    await this.reachableApplication(this.dataSource.manager, caller, applicationId);
    return this.uploadSlots.forApiKey(caller.apiKeyId);
  }

  /**
   * Commits the staged file and records it: the application is checked again under a share lock
   * in the transaction that records the scan (it may have been deactivated meanwhile). Answers the
   * pending-scan (upload) id.
   */
  async upload(
    caller: AuthenticatedCaller,
    applicationId: number,
    session: ScanIntakeSession,
  ): Promise<number> {
    const file = session.file;
    if (!file) throw new BadRestParameter(NO_FILES_SELECTED);
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
    const row = await this.uploads.findPendingScan(
      this.dataSource.manager,
      scope,
      applicationId,
      uploadId,
    );
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
    if (!(await this.uploads.isReachableApplication(m, scope, applicationId, options)))
      throw new NotFound(INVALID_APPLICATION_ID);
  }
}

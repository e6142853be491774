/**
 * The message of a direct scan upload's event (scan.uploaded, scan.imported, scan.import_failed)
 * built from what scans.repository.ts stored; the envelope is event.mapper.ts's.
 */
import { isoTime, OutboxRow, registerEventMapper } from '../events/event.mapper';
import { resolveScanner } from './scanner-types';

interface StoredUploadEvent {
  upload?: {
    id: number;
    applicationId: number;
    apiKeyId: number;
    originalFilename: string;
    createdAt: string;
  };
  scan?: { id: number; sha256: string; sizeBytes: number; scanner?: string } | null;
  phase?: string;
  message: string | null;
}

export interface UploadEventBody {
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

export function toUploadEventBody(row: OutboxRow): UploadEventBody {
  const { upload, scan, phase, message } = row.payload as unknown as StoredUploadEvent;
  if (!upload) throw new Error(`Upload event ${row.id} has no upload`);
  if (!scan || !scan.scanner) throw new Error(`Upload event ${row.id} has no scan`);
  return {
    upload: {
      id: upload.id,
      applicationId: upload.applicationId,
      apiKeyId: upload.apiKeyId,
      originalFilename: upload.originalFilename,
      createdAt: isoTime(upload.createdAt) as string,
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

registerEventMapper('scan', (row) => ({ ...toUploadEventBody(row) }));

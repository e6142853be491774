/**
 * The upload history's SQL now lives in scans.repository.ts; this re-export keeps the callers in
 * other branches' areas (direct-uploads.service.ts, src/imports/import-runner.service.ts) building
 * until they import from there. Delete it then.
 */
export { insertScanUpload, recordUploadPhase, SYSTEM } from './scans.repository';
export type { UploadActor } from './scans.repository';

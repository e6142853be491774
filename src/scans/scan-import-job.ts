/**
 * The job a recorded scan sends (by name, through background/'s JobsService) so that its report
 * is imported: scans says what is to be imported, the imports module that runs the job defines it
 * (scans sits below imports and never imports it).
 */
export const SCAN_IMPORT_JOB = 'scan-import';

export interface ScanImportJob {
  scanId: number;
  applicationId: number;
  /** As the scan recorded it (the importer resolves the parser). */
  scanner: string;
}

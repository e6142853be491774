/**
 * Storage's own errors: it knows no HTTP. A caller that answers a request maps them (a download of
 * a file gone from storage is a 404, src/scans/scans.service.ts openStoredFile).
 */

/** The stored file of a key is not there (removed, or never committed). */
export class StoredScanMissing extends Error {
  override readonly name = 'StoredScanMissing';

  constructor(readonly key: string) {
    super('The scan file was not found.');
  }
}

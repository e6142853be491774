/**
 * Where a scan's import run is: queued → parsing → merging → done, or failed from any of them.
 * Scans own the word (an upload's history and pending-scan status speak it); the import runner
 * (src/imports/) moves a run through it.
 */
export const IMPORT_PHASES = ['queued', 'parsing', 'merging', 'done', 'failed'] as const;
export type ImportPhase = (typeof IMPORT_PHASES)[number];

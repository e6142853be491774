import type { Readable, Writable } from 'node:stream';

/** How long a file-name hint in a key may be. */
const MAX_HINT_LENGTH = 100;

/** Keeps a file-name hint safe and short: letters, digits, '.', '_' and '-', never leading dots. */
export function sanitizeKeyHint(keyHint: string): string {
  const base = keyHint.replace(/\\/g, '/').split('/').pop() ?? '';
  const safe = base
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '')
    .slice(0, MAX_HINT_LENGTH);
  return safe === '' ? 'scan' : safe;
}

/** A key's month folder, `yyyy/mm` (UTC): both stores file a scan under the month it came in. */
export const monthFolder = (date: Date): string =>
  `${date.getUTCFullYear()}/${String(date.getUTCMonth() + 1).padStart(2, '0')}`;

/** The month folders from `since`'s month to the current one, oldest first. */
export function monthFoldersSince(since: Date): string[] {
  const folders: string[] = [];
  const month = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), 1));
  for (; month <= new Date(); month.setUTCMonth(month.getUTCMonth() + 1))
    folders.push(monthFolder(month));
  return folders;
}

/** A committed scan file. */
export interface StoredObject {
  /** Backend-relative key to pass to openRead/remove (a relative path with `/` separators). */
  key: string;
  sizeBytes: number;
}

/**
 * One upload in progress, written under a temporary name. The caller pipes into `stream`, awaits
 * the pipeline, then calls `commit()`; on any failure it calls `abort()`.
 */
export interface ScanStorageUpload {
  readonly stream: Writable;
  /** Ends the stream if needed, makes the data durable and moves it to its final key. */
  commit(): Promise<StoredObject>;
  /** Discards the temporary data; idempotent, and a no-op after a successful commit. */
  abort(): Promise<void>;
}

/** Where uploaded scan files live. An abstract class (not an interface) so Nest can inject it by class. */
export abstract class ScanStorage {
  /** Starts an upload; `keyHint` (e.g. the client's file name) only flavours the final key. */
  abstract beginUpload(keyHint: string): Promise<ScanStorageUpload>;
  /** Streams a committed file; rejects with StoredScanMissing (storage-errors.ts) if it does not exist. */
  abstract openRead(key: string): Promise<Readable>;
  /** Deletes a committed file; no error if it is already gone. */
  abstract remove(key: string): Promise<void>;
  /** Removes temporary files a crash left behind; returns how many. Call before accepting uploads. */
  abstract cleanupIncomplete(): Promise<number>;
  /**
   * Keys this instance committed since `since`. A crash between a commit (rename) and its
   * database transaction leaves such a file without a scan row; the boot reconciliation finds it here.
   */
  abstract ownKeysSince(since: Date): Promise<string[]>;
  /**
   * Readiness check (`GET /health/ready`): resolves when the backend can take an upload now —
   * write a small object where uploads go, read it back intact, delete it — and rejects with the
   * reason otherwise (the error's message is logged, not shown to the caller).
   * Contract for every backend: cheap (it runs every few seconds on every instance, possibly
   * concurrently with itself and with other instances' probes, so each call uses a name of its
   * own, e.g. `<instanceId>.probe-<uuid>`); leaves nothing behind, whether it succeeds or fails;
   * never touches committed scan files; and settles in seconds (the caller reports the check
   * down after 5 s but cannot cancel it, so bound the backend's own timeouts too).
   */
  abstract probe(): Promise<void>;
}

import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StoredScanMissing } from './storage-errors';
import {
  monthFolder,
  monthFoldersSince,
  sanitizeKeyHint,
  ScanStorage,
  type ScanStorageUpload,
  type StoredObject,
} from './scan-storage';

/** Temp folder under the root; dot-named so no key (whose segments never start with '.') reaches it. */
const INCOMING = '.incoming';
/** Bytes an upload's temp file stream queues before the request is paused (backpressure). */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** Another instance's temp file untouched this long belongs to an upload that is dead. */
const ABANDONED_AFTER_MS = 3600_000;

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}

/** fsync a directory so a rename into it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Scan files as plain files: `<root>/<yyyy>/<mm>/<uuid>-<hint>`, written first to
 * `<root>/.incoming/<uuid>.part` and renamed on commit, so a crash never leaves a partial final file.
 */
export class LocalFolderScanStorage extends ScanStorage {
  private readonly incomingDir: string;

  /**
   * Several instances may share the folder: each names its temp files with its `instanceId` and, at
   * boot, removes only its own (a crash's leftovers) and other instances' long-abandoned ones.
   */
  constructor(
    private readonly rootDir: string,
    private readonly instanceId = 'local',
  ) {
    super();
    this.incomingDir = path.join(rootDir, INCOMING);
  }

  async beginUpload(keyHint: string): Promise<ScanStorageUpload> {
    await mkdir(this.incomingDir, { recursive: true });
    const id = randomUUID();
    const tempPath = path.join(this.incomingDir, `${this.instanceId}.${id}.part`);
    const key = `${monthFolder(new Date())}/${this.instanceId}.${id}-${sanitizeKeyHint(keyHint)}`;
    // flush: the stream fsyncs the file before closing it, so a committed file is durable.
    // highWaterMark: chunks that arrive while a write is under way go out together in one writev,
    // instead of one write (and one thread-pool round trip) per ~64 KiB socket read.
    const stream = createWriteStream(tempPath, {
      flags: 'wx',
      flush: true,
      highWaterMark: WRITE_BUFFER_BYTES,
    });
    return new LocalUpload(stream, tempPath, path.join(this.rootDir, key), key);
  }

  async openRead(key: string): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.resolveKey(key), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new StoredScanMissing(key);
      throw err;
    }
    return handle.createReadStream(); // closes the handle when done or destroyed
  }

  async remove(key: string): Promise<void> {
    await rm(this.resolveKey(key), { force: true });
  }

  async cleanupIncomplete(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.incomingDir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 0;
      throw err;
    }
    const now = Date.now();
    const removable = await Promise.all(
      names.map(async (name) => {
        if (name.startsWith(`${this.instanceId}.`)) return name;
        const modified = await stat(path.join(this.incomingDir, name)).then(
          (s) => s.mtimeMs,
          () => now,
        );
        return now - modified > ABANDONED_AFTER_MS ? name : undefined;
      }),
    );
    const stale = removable.filter((name): name is string => name !== undefined);
    await Promise.all(
      stale.map((name) => rm(path.join(this.incomingDir, name), { recursive: true, force: true })),
    );
    return stale.length;
  }

  async ownKeysSince(since: Date): Promise<string[]> {
    const keys: string[] = [];
    // Keys live in <yyyy>/<mm>/: look at every month from `since` to now.
    for (const folder of monthFoldersSince(since)) {
      const names = await readdir(path.join(this.rootDir, folder)).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.startsWith(`${this.instanceId}.`))) {
        const modified = await stat(path.join(this.rootDir, folder, name)).then(
          (s) => s.mtimeMs,
          () => 0,
        );
        if (modified >= since.getTime()) keys.push(`${folder}/${name}`);
      }
    }
    return keys;
  }

  /**
   * Writes, reads back and deletes a file in the temp folder: the folder uploads are written to,
   * on the same filesystem as the keys they are renamed to. Named like this instance's temp files,
   * so a probe a crash interrupted is removed by cleanupIncomplete at the next boot.
   */
  async probe(): Promise<void> {
    await mkdir(this.incomingDir, { recursive: true });
    const probePath = path.join(this.incomingDir, `${this.instanceId}.probe-${randomUUID()}.part`);
    const content = Buffer.from(`scanqueue storage probe ${new Date().toISOString()}\n`);
    try {
      await writeFile(probePath, content, { flag: 'wx' });
      const readBack = await readFile(probePath);
      if (!readBack.equals(content))
        throw new Error(`Storage probe: ${probePath} read back differs from what was written`);
    } finally {
      await rm(probePath, { force: true });
    }
  }

  /** Absolute path of a key; refuses anything that could leave the root or reach the temp folder. */
  private resolveKey(key: string): string {
    const segments = key.split('/');
    const valid =
      key !== '' &&
      !key.includes('\\') &&
      !key.includes('\0') &&
      !path.isAbsolute(key) &&
      segments.every((s) => s !== '' && !s.startsWith('.'));
    if (!valid) throw new Error(`Invalid scan storage key: ${JSON.stringify(key)}`);
    return path.join(this.rootDir, ...segments);
  }
}

/** Resolves once the stream has closed (its fd is released), whether it succeeded or failed. */
function whenClosed(stream: WriteStream): Promise<void> {
  return stream.closed
    ? Promise.resolve()
    : new Promise((resolve) => stream.once('close', () => resolve()));
}

class LocalUpload implements ScanStorageUpload {
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  constructor(
    readonly stream: WriteStream,
    private readonly tempPath: string,
    private readonly finalPath: string,
    private readonly key: string,
  ) {
    // Errors reach the caller through pipeline or commit(); don't let one crash the process meanwhile.
    stream.on('error', () => undefined);
  }

  async commit(): Promise<StoredObject> {
    if (this.state !== 'open') throw new Error(`Cannot commit an upload that is ${this.state}`);
    this.state = 'committing';
    const { stream } = this;
    if (!stream.writableEnded && !stream.destroyed) stream.end();
    await whenClosed(stream); // after finish, the fsync (flush) and the close
    if (stream.errored !== null || !stream.writableFinished) {
      throw new Error('Cannot commit: the upload stream failed', {
        cause: stream.errored ?? undefined,
      });
    }
    const finalDir = path.dirname(this.finalPath);
    await mkdir(finalDir, { recursive: true });
    await rename(this.tempPath, this.finalPath);
    await syncDir(finalDir); // makes the rename itself durable
    this.state = 'committed';
    return { key: this.key, sizeBytes: stream.bytesWritten };
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.stream.destroy();
    await whenClosed(this.stream); // the file may still be opening; delete it only after
    await rm(this.tempPath, { force: true });
  }
}

import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StoredScanMissing } from './storage-errors';
import { LocalFolderScanStorage } from './local-folder-scan-storage';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under dir, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('LocalFolderScanStorage', () => {
  let root: string;
  let storage: LocalFolderScanStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'scanqueue-storage-'));
    storage = new LocalFolderScanStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips a committed upload', async () => {
    const content = Buffer.from('<OWASPZAPReport/>\n'.repeat(10_000));
    const upload = await storage.beginUpload('../../etc/zap report.xml');
    await pipeline(
      Readable.from([content.subarray(0, 1000), content.subarray(1000)]),
      upload.stream,
    );
    const stored = await upload.commit();

    expect(stored.sizeBytes).toBe(content.length);
    expect(stored.key).toMatch(/^\d{4}\/\d{2}\/local\.[0-9a-f-]{36}-zap_report\.xml$/);
    expect((await readAll(await storage.openRead(stored.key))).equals(content)).toBe(true);
    expect(await listFiles(root)).toEqual([stored.key]); // the temp file was renamed, not copied
    await upload.abort(); // no-op after commit
    expect(await listFiles(root)).toEqual([stored.key]);

    await storage.remove(stored.key);
    await expect(storage.openRead(stored.key)).rejects.toBeInstanceOf(StoredScanMissing);
    await storage.remove(stored.key); // already gone: no error
  });

  it('commit ends a stream the caller left open', async () => {
    const upload = await storage.beginUpload('a.xml');
    upload.stream.write('<issues/>');
    const stored = await upload.commit();
    expect(stored.sizeBytes).toBe(9);
    expect((await readAll(await storage.openRead(stored.key))).toString()).toBe('<issues/>');
  });

  it('abort leaves nothing behind', async () => {
    const upload = await storage.beginUpload('scan.xml');
    upload.stream.write('partial');
    await upload.abort();
    await upload.abort(); // idempotent
    expect(await listFiles(root)).toEqual([]);
    await expect(upload.commit()).rejects.toThrow();
  });

  it('refuses to commit after the upload stream failed, and abort then cleans up', async () => {
    const upload = await storage.beginUpload('scan.xml');
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('<issues>');
      throw new Error('client went away');
    }
    await expect(pipeline(Readable.from(failing()), upload.stream)).rejects.toThrow(
      'client went away',
    );
    await expect(upload.commit()).rejects.toThrow(/upload stream failed/);
    await upload.abort();
    expect(await listFiles(root)).toEqual([]);
  });

  it('cleanupIncomplete removes temp files left by a crash', async () => {
    await mkdir(path.join(root, '.incoming'), { recursive: true });
    await writeFile(path.join(root, '.incoming', 'local.crashed.part'), 'partial');
    // Another instance sharing the folder: its live upload stays, its long-abandoned one goes.
    await writeFile(path.join(root, '.incoming', 'other.live.part'), 'partial');
    await writeFile(path.join(root, '.incoming', 'other.dead.part'), 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(root, '.incoming', 'other.dead.part'), twoHoursAgo, twoHoursAgo);
    const kept = await storage.beginUpload('kept.xml');
    await pipeline(Readable.from(['<issues/>']), kept.stream);
    const stored = await kept.commit();

    expect(await storage.cleanupIncomplete()).toBe(2);
    expect((await listFiles(root)).sort()).toEqual(
      ['.incoming/other.live.part', stored.key].sort(),
    );
    expect(await storage.cleanupIncomplete()).toBe(0);
  });

  it('cleanupIncomplete copes with a root that has no temp folder yet', async () => {
    expect(await new LocalFolderScanStorage(path.join(root, 'missing')).cleanupIncomplete()).toBe(
      0,
    );
  });

  it.each([
    '../secret',
    '2025/../../x',
    '/etc/passwd',
    '.incoming/x.part',
    '2025\\01\\x',
    '',
    '2025//x',
  ])('refuses the key %j', async (key) => {
    await expect(storage.openRead(key)).rejects.toThrow(/Invalid scan storage key/);
    await expect(storage.remove(key)).rejects.toThrow(/Invalid scan storage key/);
  });
});

describe('LocalFolderScanStorage.ownKeysSince', () => {
  it("lists this instance's committed keys, not another instance's", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'scanqueue-storage-own-'));
    try {
      const mine = new LocalFolderScanStorage(root, 'a');
      const theirs = new LocalFolderScanStorage(root, 'b');
      const commit = async (storage: LocalFolderScanStorage) => {
        const upload = await storage.beginUpload('x.xml');
        await pipeline(Readable.from(['<issues/>']), upload.stream);
        return (await upload.commit()).key;
      };
      const own = await commit(mine);
      await commit(theirs);
      expect(await mine.ownKeysSince(new Date(Date.now() - 60_000))).toEqual([own]);
      expect(await mine.ownKeysSince(new Date(Date.now() + 60_000))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

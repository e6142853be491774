/** S3ScanStorage against a real S3-compatible server (s3rver on a loopback port; see test/support/s3-server.ts). */
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startS3TestServer, type S3TestServer } from '../../test/support/s3-server';
import { freePort } from '../../test/support/test-server';
import { ConfigError, loadAppConfig } from '../config/app-config';
import { StoredScanMissing } from './storage-errors';
import { S3IntegrityError } from './s3-errors';
import { createS3Client, S3ScanStorage } from './s3-scan-storage';

const MiB = 1024 * 1024;

function chunks(data: Buffer, size = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('S3ScanStorage against s3rver', () => {
  let s3: S3TestServer;
  let client: S3Client;
  /** Uploads as they went over the wire: which request, which part, the checksum header sent. */
  let sent: { command: string; part?: number; checksum?: string }[] = [];

  const storageFor = (instanceId: string, prefix = '') =>
    new S3ScanStorage({ client, bucket: s3.bucket, prefix, instanceId, partSize: 5 * MiB });

  async function store(storage: S3ScanStorage, data: Buffer, hint = 'report.xml') {
    const upload = await storage.beginUpload(hint);
    await pipeline(chunks(data), upload.stream);
    return upload.commit();
  }

  beforeAll(async () => {
    s3 = await startS3TestServer();
    client = createS3Client({
      bucket: s3.bucket,
      prefix: '',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        const input = args.input as { PartNumber?: number };
        sent.push({
          command: context.commandName ?? '',
          part: input.PartNumber,
          checksum: headers['x-amz-checksum-sha256'],
        });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordUploads' },
    );
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('commits a small file (one PutObject) and reads it back byte-identical', async () => {
    const storage = storageFor('small');
    const data = randomBytes(300 * 1024);
    sent = [];
    const stored = await store(storage, data, '../evil/../zap report?.xml');
    expect(sent.filter((r) => r.command === 'PutObjectCommand')).toEqual([
      {
        command: 'PutObjectCommand',
        part: undefined,
        checksum: createHash('sha256').update(data).digest('base64'),
      },
    ]);
    expect(stored.sizeBytes).toBe(data.length);
    expect(stored.key).toMatch(/^scans\/small\/\d{4}\/\d{2}\/[0-9a-f-]{36}-zap_report_.xml$/);
    expect(await s3.objectKeys('scans/small/')).toEqual([stored.key]);
    expect(sha256(await readAll(await storage.openRead(stored.key)))).toBe(sha256(data));
  });

  it('streams a 12 MB file in 5 MB parts, invisible until commit, and reads it back byte-identical', async () => {
    const storage = storageFor('multi');
    const data = randomBytes(12 * MiB);
    sent = [];
    const upload = await storage.beginUpload('big.xml');
    await pipeline(chunks(data), upload.stream);
    // Before commit: an in-progress multipart upload, no object.
    await until(async () => (await s3.incompleteUploads()).length === 1);
    const [inProgress] = await s3.incompleteUploads();
    expect(inProgress.key).toMatch(/^scans\/multi\//);
    expect(await s3.objectKeys('scans/multi/')).toEqual([]);

    const stored = await upload.commit();
    expect(stored).toEqual({ key: inProgress.key, sizeBytes: data.length });
    expect(await s3.objectKeys('scans/multi/')).toEqual([stored.key]);
    expect(await s3.incompleteUploads()).toEqual([]);
    const back = await readAll(await storage.openRead(stored.key));
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
    // Each part went with its SHA-256 for the server to verify.
    const b64 = (d: Buffer) => createHash('sha256').update(d).digest('base64');
    expect(sent.filter((r) => r.command.endsWith('UploadPartCommand'))).toEqual(
      [0, 1, 2].map((i) => ({
        command: 'UploadPartCommand',
        part: i + 1,
        checksum: b64(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)),
      })),
    );
    expect(sent.map((r) => r.command)).toEqual(
      expect.arrayContaining(['CreateMultipartUploadCommand', 'CompleteMultipartUploadCommand']),
    );
    expect(sent.some((r) => r.command === 'PutObjectCommand')).toBe(false);
  });

  it('abort of an in-progress multipart upload leaves no object and no incomplete upload; it is idempotent', async () => {
    const storage = storageFor('aborted');
    const upload = await storage.beginUpload('big.xml');
    // 11 MB written, the stream not ended: two parts are on the server, the upload in progress.
    const writing = pipeline(chunks(randomBytes(11 * MiB)), upload.stream, { end: false });
    await writing;
    await until(async () => (await s3.incompleteUploads()).length === 1);
    await upload.abort();
    await upload.abort();
    expect(await s3.incompleteUploads()).toEqual([]);
    expect(await s3.objectKeys('scans/aborted/')).toEqual([]);
    await expect(upload.commit()).rejects.toThrow(/aborted/);
  });

  it('abort of a small upload that waits for its commit leaves nothing; abort after commit keeps the object', async () => {
    const storage = storageFor('small-abort');
    const first = await storage.beginUpload('a.xml');
    await pipeline(chunks(randomBytes(1000)), first.stream);
    await first.abort();
    expect(await s3.objectKeys('scans/small-abort/')).toEqual([]);

    const second = await storage.beginUpload('b.xml');
    await pipeline(chunks(randomBytes(1000)), second.stream);
    const stored = await second.commit();
    await second.abort();
    expect(await s3.objectKeys('scans/small-abort/')).toEqual([stored.key]);
  });

  it('an empty file commits as an empty object', async () => {
    const storage = storageFor('empty');
    const stored = await store(storage, Buffer.alloc(0));
    expect(stored.sizeBytes).toBe(0);
    expect((await readAll(await storage.openRead(stored.key))).length).toBe(0);
  });

  it('cleanupIncomplete aborts only this instance’s leftover multipart uploads', async () => {
    const leftover = (key: string) =>
      client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
    await leftover('scans/crashed/2026/01/00000000-0000-0000-0000-000000000001-a.xml');
    await leftover('scans/crashed/2026/02/00000000-0000-0000-0000-000000000002-b.xml');
    await leftover('scans/crashed-2/2026/01/00000000-0000-0000-0000-000000000003-c.xml');
    await leftover('scans/other/2026/01/00000000-0000-0000-0000-000000000004-d.xml');

    expect(await storageFor('crashed').cleanupIncomplete()).toBe(2);
    const left = (await s3.incompleteUploads()).map((u) => u.key).sort();
    expect(left).toEqual([
      'scans/crashed-2/2026/01/00000000-0000-0000-0000-000000000003-c.xml',
      'scans/other/2026/01/00000000-0000-0000-0000-000000000004-d.xml',
    ]);
    expect(await storageFor('crashed').cleanupIncomplete()).toBe(0);
    // The SDK's own view agrees (ListMultipartUploads over HTTP).
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    expect(listed.Uploads?.map((u) => u.Key).sort()).toEqual(left);
    await storageFor('crashed-2').cleanupIncomplete();
    await storageFor('other').cleanupIncomplete();
  });

  it('ownKeysSince lists this instance’s committed keys since a time, with a prefix too', async () => {
    const mine = storageFor('owner', 'tenant/');
    const other = storageFor('owner-2', 'tenant/');
    const before = new Date(Date.now() - 60_000);
    const a = await store(mine, randomBytes(10));
    const b = await store(mine, randomBytes(10));
    await store(other, randomBytes(10));
    expect((await s3.objectKeys('tenant/scans/owner/')).sort()).toEqual(
      [`tenant/${a.key}`, `tenant/${b.key}`].sort(),
    );
    expect((await mine.ownKeysSince(before)).sort()).toEqual([a.key, b.key].sort());
    expect(await mine.ownKeysSince(new Date(Date.now() + 60_000))).toEqual([]);
    expect(await mine.ownKeysSince(new Date(Date.now() - 400 * 24 * 3600_000))).toHaveLength(2);
  });

  it('remove deletes the object, again without error; openRead then rejects with StoredScanMissing', async () => {
    const storage = storageFor('remover');
    const stored = await store(storage, randomBytes(100));
    await storage.remove(stored.key);
    await storage.remove(stored.key);
    expect(await s3.objectKeys('scans/remover/')).toEqual([]);
    await expect(storage.openRead(stored.key)).rejects.toBeInstanceOf(StoredScanMissing);
    await expect(
      storage.openRead('scans/remover/2026/01/00000000-0000-0000-0000-000000000000-x.xml'),
    ).rejects.toBeInstanceOf(StoredScanMissing);
  });

  it('probe (readiness) writes, reads back and deletes its own object; it fails on a missing bucket', async () => {
    const storage = storageFor('prober', 'pre/');
    sent = [];
    await Promise.all([storage.probe(), storage.probe()]); // concurrent probes use their own names
    expect(sent.filter((r) => r.command === 'PutObjectCommand')).toHaveLength(2);
    expect(await s3.objectKeys('pre/')).toEqual([]);
    const missing = new S3ScanStorage({
      client,
      bucket: 'no-such-bucket',
      prefix: '',
      instanceId: 'prober',
    });
    await expect(missing.probe()).rejects.toThrow();
  });

  it('refuses keys it never writes', async () => {
    const storage = storageFor('keys');
    await expect(storage.openRead('../other-bucket/x')).rejects.toThrow(/Invalid scan storage key/);
    await expect(storage.remove('')).rejects.toThrow(/Invalid scan storage key/);
  });

  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    return run().then(
      () => undefined,
      (err: unknown) => err,
    );
  }
  const isIntegrityError = (err: unknown) =>
    err instanceof S3IntegrityError ||
    (err instanceof Error && err.cause instanceof S3IntegrityError);

  it('detects a part damaged on its way to the server and leaves nothing behind', async () => {
    const storage = storageFor('damaged-part');
    const upload = await storage.beginUpload('big.xml');
    s3.corruptNext('part');
    const error = await failure(async () => {
      await pipeline(chunks(randomBytes(12 * MiB)), upload.stream);
      await upload.commit();
    });
    await upload.abort();
    expect(isIntegrityError(error)).toBe(true);
    expect(await s3.objectKeys('scans/damaged-part/')).toEqual([]);
    expect(await s3.incompleteUploads()).toEqual([]);
  });

  it.each([
    ['a single PutObject', 1000],
    ['a completed multipart upload', 11 * MiB],
  ])('detects %s stored damaged, fails the commit and deletes the object', async (_, size) => {
    const storage = storageFor(`damaged-${size}`);
    const upload = await storage.beginUpload('a.xml');
    await pipeline(chunks(randomBytes(size)), upload.stream);
    s3.corruptNext('object');
    const error = await failure(() => upload.commit());
    expect(isIntegrityError(error)).toBe(true);
    await upload.abort();
    expect(await s3.objectKeys(`scans/damaged-${size}/`)).toEqual([]);
    expect(await s3.incompleteUploads()).toEqual([]);
  });

  it('checkBucket fails fast with a message naming the bucket when it is missing or unreachable', async () => {
    const missing = new S3ScanStorage({
      client,
      bucket: 'no-such-bucket',
      prefix: '',
      instanceId: 'x',
    });
    await expect(missing.checkBucket()).rejects.toThrow(
      /S3 bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ is not reachable: no such bucket\./,
    );
    const port = await freePort();
    const deadClient = createS3Client({
      bucket: s3.bucket,
      prefix: '',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      accessKeyId: 'AKIA_SHOULD_NOT_APPEAR',
      secretAccessKey: 'secret-should-not-appear',
    });
    const dead = new S3ScanStorage({
      client: deadClient,
      bucket: s3.bucket,
      prefix: '',
      instanceId: 'x',
    });
    const error = await dead.checkBucket().then(
      () => undefined,
      (err: Error) => err,
    );
    deadClient.destroy();
    expect(error?.message).toMatch(
      new RegExp(`"${s3.bucket}" at http://127.0.0.1:${port} is not reachable: .*ECONNREFUSED`),
    );
    expect(error?.message).not.toMatch(/should-not-appear|SHOULD_NOT_APPEAR/);
    await expect(storageFor('x').checkBucket()).resolves.toBeUndefined();
  });
});

describe('S3 storage configuration', () => {
  it('defaults to the local folder and validates the S3 settings, never echoing the secret', () => {
    expect(loadAppConfig({}).STORAGE_BACKEND).toBe('local');
    expect(() => loadAppConfig({ STORAGE_BACKEND: 's3' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ STORAGE_BACKEND: 's3' })).toThrow(/S3_BUCKET/);
    expect(() => loadAppConfig({ STORAGE_BACKEND: 'gcs' })).toThrow(/STORAGE_BACKEND/);
    expect(() =>
      loadAppConfig({ STORAGE_BACKEND: 's3', S3_BUCKET: 'scans', S3_PREFIX: '/abs' }),
    ).toThrow(/S3_PREFIX/);
    expect(() =>
      loadAppConfig({ STORAGE_BACKEND: 's3', S3_BUCKET: 'scans', S3_ENDPOINT: 'minio:9000' }),
    ).toThrow(/S3_ENDPOINT/);
    let message = '';
    try {
      loadAppConfig({
        STORAGE_BACKEND: 's3',
        S3_BUCKET: 'scans',
        S3_SECRET_ACCESS_KEY: 'hunter2-secret',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/S3_ACCESS_KEY_ID/);
    expect(message).not.toContain('hunter2-secret');
    const config = loadAppConfig({
      STORAGE_BACKEND: 's3',
      S3_BUCKET: 'scans',
      S3_PREFIX: 'tenant/a/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config).toMatchObject({
      S3_BUCKET: 'scans',
      S3_PREFIX: 'tenant/a/',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: true,
    });
  });
});

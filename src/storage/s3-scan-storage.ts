/**
 * Scan files in an S3-compatible bucket. An upload streams through @aws-sdk/lib-storage (a
 * multipart upload with a few bounded part buffers, or one PutObject for a file smaller than a
 * part) straight to its final key, `<prefix>scans/<instanceId>/<yyyy>/<mm>/<uuid>-<hint>`, but the
 * request that makes the object visible (CompleteMultipartUpload, or that PutObject) is held back
 * until `commit()`; so until then an upload is an in-progress multipart upload, which `abort()` and
 * the boot's `cleanupIncomplete()` abort, and never a visible object.
 *
 * Integrity: every part is sent with its SHA-256 (`x-amz-checksum-sha256`, which S3 and other
 * servers that support checksums verify, refusing a damaged part), and each receipt is confirmed
 * here: by the checksum the server returns, or, from servers that keep no checksums, by the part's
 * ETag being its MD5. After completion HeadObject must report the streamed size and the object's
 * checksum (or else its ETag) computed from what was streamed; on a mismatch the object is deleted
 * and the commit fails.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { NotFound } from '../rest/rest-error';
import { ScanStorage, type ScanStorageUpload, type StoredObject } from './scan-storage';

/** S3's smallest part (except the last) and its most parts per upload. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_HINT_LENGTH = 100;
/** The keys this backend writes; openRead/remove refuse anything else. */
const KEY_PATTERN = /^scans\/[A-Za-z0-9_-]{1,64}\/\d{4}\/\d{2}\/[A-Za-z0-9._-]+$/;

export interface S3Settings {
  bucket: string;
  /** '' or a path ending in '/', put before every key. */
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/**
 * The client for `settings`. Checksums are computed only where an operation asks for one (our
 * uploads ask for SHA-256 explicitly): the SDK's newer default adds a CRC32 to every upload, which
 * servers that predate it (s3rver among them) do not know.
 */
export function createS3Client(settings: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Fail fast at boot on a wrong endpoint instead of hanging on a black-holed address, and fail
    // a request whose connection goes silent (a stalled upload or read holds a task or an import).
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.accessKeyId && settings.secretAccessKey)
    config.credentials = {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
    };
  return new S3Client(config);
}

/** Same rules as the local folder: letters, digits, '.', '_' and '-', never leading dots. */
function sanitizeKeyHint(keyHint: string): string {
  const base = keyHint.replace(/\\/g, '/').split('/').pop() ?? '';
  const safe = base
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '')
    .slice(0, MAX_HINT_LENGTH);
  return safe === '' ? 'scan' : safe;
}

const monthFolder = (date: Date) =>
  `${date.getUTCFullYear()}/${String(date.getUTCMonth() + 1).padStart(2, '0')}`;

function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404)
  );
}

/** Why an S3 call failed, without anything from the request (no credentials reach messages). */
function describe(err: unknown): string {
  if (err instanceof S3ServiceException)
    return `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})${err.message && err.message !== err.name ? `: ${err.message}` : ''}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export class S3IntegrityError extends Error {
  override readonly name = 'S3IntegrityError';
}

export interface S3ScanStorageOptions {
  client: S3Client;
  bucket: string;
  prefix: string;
  instanceId: string;
  /** Part size; at least 5 MiB, and large enough that the largest upload fits in 10,000 parts. */
  partSize?: number;
  /** Largest upload accepted, to size the parts (MAX_UPLOAD_BYTES). */
  maxUploadBytes?: number;
  /** Parts uploaded at once per upload: memory per upload is about (queueSize + 1) × partSize. */
  queueSize?: number;
  /** Where to report a cleanup that failed (the storage module passes its Nest logger). */
  warn?: (message: string) => void;
}

export class S3ScanStorage extends ScanStorage {
  private readonly warn: (message: string) => void;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly instanceId: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3ScanStorageOptions) {
    super();
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.instanceId = options.instanceId;
    this.partSize = Math.max(
      options.partSize ?? MIN_PART_SIZE,
      MIN_PART_SIZE,
      Math.ceil((options.maxUploadBytes ?? 0) / MAX_PARTS),
    );
    this.queueSize = options.queueSize ?? 2;
    this.warn = options.warn ?? (() => undefined);
  }

  /** Boot check: the bucket exists and these credentials may use it. */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      const hint =
        status === 404
          ? 'no such bucket'
          : status === 403
            ? 'access denied (check the credentials and the bucket policy)'
            : status === 301
              ? 'the bucket is in another region (check S3_REGION)'
              : describe(err);
      const endpoint = await this.client.config
        .endpoint?.()
        .then((e) => ` at ${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}`)
        .catch(() => '');
      throw new Error(
        `S3 bucket "${this.bucket}"${endpoint ?? ''} is not reachable: ${hint}. ` +
          'Check S3_BUCKET, S3_ENDPOINT, S3_REGION and the credentials.',
        { cause: err },
      );
    }
  }

  /** Readiness: a small object written where uploads go, read back intact, and deleted. */
  async probe(): Promise<void> {
    const key = `${this.prefix}probes/${this.instanceId}.probe-${randomUUID()}`;
    const body = randomUUID();
    const abortSignal = AbortSignal.timeout(4000); // the caller gives up after 5 s
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }), {
        abortSignal,
      });
      const read = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal,
      });
      if ((await read.Body?.transformToString()) !== body)
        throw new Error('S3 probe object read back changed');
    } finally {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
        .catch((err: unknown) =>
          this.warn(`Could not delete the S3 probe object: ${describe(err)}`),
        );
    }
  }

  async beginUpload(keyHint: string): Promise<ScanStorageUpload> {
    const now = new Date();
    const key = `scans/${this.instanceId}/${monthFolder(now)}/${randomUUID()}-${sanitizeKeyHint(keyHint)}`;
    return new S3Upload(this.client, this.bucket, this.prefix + key, key, {
      partSize: this.partSize,
      queueSize: this.queueSize,
      warn: this.warn,
    });
  }

  async openRead(key: string): Promise<Readable> {
    try {
      const { Body } = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      if (!(Body instanceof Readable)) throw new Error('S3 GetObject returned no stream');
      return Body;
    } catch (err) {
      if (isNotFound(err)) throw new NotFound('The scan file was not found.');
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    // S3 answers a delete of a missing key with success too.
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
    );
  }

  /**
   * Aborts this instance's multipart uploads a crash left in progress (only its own: another
   * instance's may be running; a bucket lifecycle rule, AbortIncompleteMultipartUpload, is the
   * place to expire those of instances that never come back).
   */
  async cleanupIncomplete(): Promise<number> {
    const Prefix = `${this.prefix}scans/${this.instanceId}/`;
    let removed = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix, KeyMarker, UploadIdMarker }),
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(Prefix) || !upload.UploadId) continue;
        await this.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: upload.Key,
            UploadId: upload.UploadId,
          }),
        );
        removed++;
      }
      if (!page.IsTruncated) return removed;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async ownKeysSince(since: Date): Promise<string[]> {
    const keys: string[] = [];
    // Keys live in scans/<instance>/<yyyy>/<mm>/: list every month from `since` to now.
    for (
      let month = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), 1));
      month <= new Date();
      month.setUTCMonth(month.getUTCMonth() + 1)
    ) {
      const Prefix = `${this.prefix}scans/${this.instanceId}/${monthFolder(month)}/`;
      for await (const page of paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix },
      )) {
        for (const object of page.Contents ?? []) {
          if (!object.Key || !object.LastModified || object.LastModified < since) continue;
          keys.push(object.Key.slice(this.prefix.length));
        }
      }
    }
    return keys;
  }

  private objectKey(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`Invalid scan storage key: ${JSON.stringify(key)}`);
    return this.prefix + key;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody waits for is not a crash
  return { promise, resolve, reject };
}

interface PartDigest {
  md5: Buffer;
  sha256: Buffer;
}

const unquote = (etag: string | undefined) => etag?.replace(/"/g, '');

class S3Upload implements ScanStorageUpload {
  /** Counts and hashes what passes; lib-storage reads the other side. */
  readonly stream: Transform;
  private state: 'open' | 'committing' | 'committed' | 'failed' | 'aborted' = 'open';
  private bytes = 0;
  private readonly sha256: Hash = createHash('sha256');
  private readonly md5: Hash = createHash('md5');
  private readonly parts = new Map<number, PartDigest>();
  private multipart = false;
  /** The object exists at its key (the final request went through). */
  private created = false;
  /** Settles when lib-storage is done: `undefined` on success, else the error. */
  private readonly settled: Promise<Error | undefined>;
  /** Resolved when lib-storage waits with its final request; released by commit, rejected by abort. */
  private readonly atGate = deferred<void>();
  private readonly gate = deferred<void>();
  private readonly warn: (message: string) => void;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly objectKey: string,
    private readonly key: string,
    options: { partSize: number; queueSize: number; warn: (message: string) => void },
  ) {
    this.warn = options.warn;
    this.stream = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.bytes += chunk.length;
        this.sha256.update(chunk);
        this.md5.update(chunk);
        callback(null, chunk);
      },
    });
    // Errors reach the caller through pipeline or commit(); don't let one crash the process meanwhile.
    this.stream.on('error', () => undefined);
    const upload = new Upload({
      client: this.gatedClient(),
      params: {
        Bucket: bucket,
        Key: objectKey,
        Body: this.stream,
        ContentType: 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
      },
      partSize: options.partSize,
      queueSize: options.queueSize,
    });
    this.settled = upload.done().then(
      () => undefined,
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        // Stop the request's pipeline now rather than after the whole body has been read.
        if (!this.stream.destroyed) this.stream.destroy(error);
        return error;
      },
    );
  }

  async commit(): Promise<StoredObject> {
    if (this.state !== 'open') throw new Error(`Cannot commit an upload that is ${this.state}`);
    this.state = 'committing';
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    const reachedGate = await Promise.race([
      this.atGate.promise.then(() => true),
      this.settled.then(() => false),
    ]);
    if (!reachedGate || this.stream.errored) {
      this.state = 'failed';
      throw new Error('Cannot commit: the upload stream failed', {
        cause: (await this.settled) ?? this.stream.errored ?? undefined,
      });
    }
    this.gate.resolve();
    const failure = await this.settled;
    try {
      if (failure) throw new Error('Cannot commit: the S3 upload failed', { cause: failure });
      await this.verifyObject();
    } catch (err) {
      this.state = 'failed';
      // Keep the commit's own error; an object a failed delete leaves is one no scan names, which
      // the boot reconciliation (ownKeysSince) removes.
      await this.deleteIfCreated().catch((deleteError: unknown) =>
        this.warn(
          `Could not delete ${this.objectKey} after a failed commit: ${describe(deleteError)}`,
        ),
      );
      throw err;
    }
    this.state = 'committed';
    return { key: this.key, sizeBytes: this.bytes };
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    const wasFailed = this.state === 'failed';
    this.state = 'aborted';
    if (wasFailed) return; // commit() already cleaned up
    const reason = Object.assign(new Error('Upload aborted'), { name: 'AbortError' });
    this.stream.destroy(reason);
    this.gate.reject(reason);
    await this.settled; // lib-storage has sent AbortMultipartUpload (a failure is logged there)
    await this.deleteIfCreated();
  }

  /**
   * lib-storage's client with two duties added: hold the request that makes the object visible
   * until commit (or fail it on abort), and confirm each part the server received is what we sent.
   * An object inheriting from the shared client, so its config (endpoint, checksums) is the same.
   */
  private gatedClient(): S3Client {
    const client = this.client;
    const gated = Object.create(client) as S3Client;
    const send = async (command: unknown): Promise<unknown> => {
      try {
        if (command instanceof UploadPartCommand) {
          this.multipart = true;
          const digest = this.digestPart(command.input.PartNumber ?? 0, command.input.Body);
          const result = await client.send(command);
          this.confirmPart(command.input.PartNumber ?? 0, digest, result);
          return result;
        }
        if (command instanceof PutObjectCommand) {
          const digest = this.digestPart(1, command.input.Body);
          await this.waitAtGate();
          const result = await client.send(command);
          this.created = true;
          this.confirmPart(1, digest, result);
          return result;
        }
        if (command instanceof CompleteMultipartUploadCommand) {
          await this.waitAtGate();
          const result = await client.send(command);
          this.created = true;
          return result;
        }
        if (command instanceof AbortMultipartUploadCommand) {
          try {
            return await client.send(command);
          } catch (err) {
            this.warn(
              `Could not abort multipart upload ${command.input.UploadId} of ${command.input.Key}: ${describe(err)}; the next boot's cleanup (or a bucket lifecycle rule) removes it`,
            );
            throw err;
          }
        }
        return await (client.send as (c: unknown) => Promise<unknown>)(command);
      } catch (err) {
        // Any failed request ends the upload: stop the stream at once (see constructor).
        if (!this.stream.destroyed && !(command instanceof AbortMultipartUploadCommand))
          this.stream.destroy(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    };
    return Object.assign(gated, { send }) as S3Client;
  }

  private async waitAtGate(): Promise<void> {
    this.atGate.resolve();
    await this.gate.promise;
  }

  private digestPart(partNumber: number, body: unknown): PartDigest {
    if (!(body instanceof Uint8Array))
      throw new Error('lib-storage sent a part that is not a buffer');
    const digest = {
      md5: createHash('md5').update(body).digest(),
      sha256: createHash('sha256').update(body).digest(),
    };
    this.parts.set(partNumber, digest);
    return digest;
  }

  /** The server's checksum when it keeps one, else its ETag (the MD5 of the data it received). */
  private confirmPart(
    partNumber: number,
    digest: PartDigest,
    result: { ChecksumSHA256?: string; ETag?: string },
  ): void {
    const matches = result.ChecksumSHA256
      ? result.ChecksumSHA256 === digest.sha256.toString('base64')
      : unquote(result.ETag) === digest.md5.toString('hex');
    if (!matches)
      throw new S3IntegrityError(
        `S3 stored part ${partNumber} of ${this.objectKey} with a different checksum than was sent`,
      );
  }

  /**
   * HeadObject: the size must be what was streamed, and the object's SHA-256 checksum (single or
   * composite of the parts' checksums), or without one its ETag (the MD5 of the whole, or S3's MD5
   * of the parts' MD5s with "-<parts>"), must match what was streamed.
   */
  private async verifyObject(): Promise<void> {
    const head = await this.client.send(
      new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey, ChecksumMode: 'ENABLED' }),
    );
    if (head.ContentLength !== this.bytes)
      throw new S3IntegrityError(
        `S3 object ${this.objectKey} has ${head.ContentLength} bytes, ${this.bytes} were sent`,
      );
    const ordered = [...this.parts.entries()].sort(([a], [b]) => a - b).map(([, d]) => d);
    const whole = { md5: this.md5.digest(), sha256: this.sha256.digest() };
    const composite = (pick: (d: PartDigest) => Buffer, algorithm: 'md5' | 'sha256') =>
      createHash(algorithm)
        .update(Buffer.concat(ordered.map(pick)))
        .digest();
    let matches: boolean;
    if (head.ChecksumSHA256) {
      const expected = this.multipart
        ? composite((d) => d.sha256, 'sha256').toString('base64')
        : whole.sha256.toString('base64');
      matches = head.ChecksumSHA256.split('-')[0] === expected;
    } else {
      const etag = unquote(head.ETag);
      matches =
        etag === whole.md5.toString('hex') ||
        (this.multipart &&
          etag === `${composite((d) => d.md5, 'md5').toString('hex')}-${ordered.length}`);
    }
    if (!matches)
      throw new S3IntegrityError(
        `S3 object ${this.objectKey} does not match what was streamed (checksum/ETag differ)`,
      );
  }

  private async deleteIfCreated(): Promise<void> {
    if (!this.created) return;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey }));
    this.created = false;
  }
}

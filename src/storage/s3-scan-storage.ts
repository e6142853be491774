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
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { StoredScanMissing } from './storage-errors';
import { describe, isNotFound } from './s3-errors';
import {
  monthFolder,
  monthFoldersSince,
  sanitizeKeyHint,
  ScanStorage,
  type ScanStorageUpload,
} from './scan-storage';
import { S3Upload } from './s3-upload';

/** S3's smallest part (except the last) and its most parts per upload. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
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
      if (isNotFound(err)) throw new StoredScanMissing(key);
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
    for (const folder of monthFoldersSince(since)) {
      const Prefix = `${this.prefix}scans/${this.instanceId}/${folder}/`;
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

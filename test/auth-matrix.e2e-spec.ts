/**
 * Authentication, roles and team scope, route by route: every route the controllers declare
 * (scanqueue's own and ThreadFix's admin calls) × every kind of caller (no key, malformed header,
 * unknown key, revoked key, a key holding every permission but the route's, each single
 * permission, a restricted key, a key limited to the fixture's team, and one limited to another
 * team). Refused calls get the exact status and envelope and change nothing in the database (nor
 * in scan storage); out of scope, a call answers exactly as the same call on a missing resource
 * does; accepted calls answer 200 with the right shape. Then the public `/auth/apikey` handshake,
 * and every call on a claimed task × {another agent's key, another task's key, a revoked agent,
 * another API key's agent, a missing task}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fixture, givenApplication, queueScan, TASKS } from './support/agent-flow';
import { TestServer } from './support/test-server';

let t: TestServer;

beforeAll(async () => {
  t = await TestServer.start();
});
afterAll(() => t.stop());

// ---------------------------------------------------------------------------------------------
// The contract, written out here (not imported from src) so that the server is checked against it.

type Perm =
  | 'CAN_RUN_SCAN_AGENT'
  | 'CAN_MANAGE_SCAN_AGENTS'
  | 'CAN_MANAGE_SCAN_QUEUE'
  | 'CAN_MANAGE_APPLICATIONS'
  | 'CAN_MANAGE_TEAMS'
  | 'CAN_UPLOAD_SCANS'
  | 'CAN_MANAGE_API_KEYS'
  | 'READ_ACCESS';
const LABEL: Record<Perm, string> = {
  CAN_RUN_SCAN_AGENT: 'Run Scan Agent',
  CAN_MANAGE_SCAN_AGENTS: 'Manage Scan Agents',
  CAN_MANAGE_SCAN_QUEUE: 'Manage Scan Queue',
  CAN_MANAGE_APPLICATIONS: 'Manage Applications',
  CAN_MANAGE_TEAMS: 'Manage Teams',
  CAN_UPLOAD_SCANS: 'Upload Scans',
  CAN_MANAGE_API_KEYS: 'Manage API Keys',
  READ_ACCESS: 'Read Access',
};
const ALL = Object.keys(LABEL) as Perm[];
const MISSING_KEY = 'Authentication failed, check your API Key.';
const UNKNOWN_KEY = 'API Key not found in database.';
const RESTRICTED = 'The requested URL is restricted for your API Key.';
const lacking = (anyOf: Perm[]) =>
  `Your API Key lacks the permission this operation needs: ${anyOf.map((p) => LABEL[p]).join(' or ')}.`;
const BAD_AGENT_KEY = 'Secure scan agent key was not recognized.';
const BAD_TASK_KEY = 'Secure task key was not recognized.';
const NO_TASK = (id: number) => `No ScanQueueTask found with id ${id}.`;

/** An id no resource has. */
const NONE = 2147483000;
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
  /** As curl -F sends it: fields in order, the file last (or first). */
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
/** An answer with the ids in its message blanked: "the same message" for another id. */
const shape = (answer: Answer) => ({
  status: answer.status,
  body: answer.json && { ...answer.json, message: answer.json.message.replace(/\d+/g, '#') },
});

// ---------------------------------------------------------------------------------------------
// What must not change on a refused call: every table (api_keys without last_used_at and
// scan_agents without last-seen details, which any authenticated call or poll may touch) and the
// files in scan storage.

const SNAPSHOT_QUERIES: Record<string, string> = {
  api_keys:
    'SELECT id, name, key_hash, permissions, restricted, team_ids, created_at, revoked_at FROM api_keys ORDER BY id',
  teams: 'SELECT * FROM teams ORDER BY id',
  applications: 'SELECT * FROM applications ORDER BY id',
  scan_agents:
    'SELECT id, key_hash, api_key_id, created_at, revoked_at, paused_at FROM scan_agents ORDER BY id',
  scanner_queues: 'SELECT scanner, paused_at FROM scanner_queues ORDER BY scanner',
  scan_configs: 'SELECT * FROM scan_configs ORDER BY id',
  scan_queue_tasks: 'SELECT * FROM scan_queue_tasks ORDER BY id',
  scan_statuses: 'SELECT * FROM scan_statuses ORDER BY id',
  scans: 'SELECT * FROM scans ORDER BY id',
  scan_uploads: 'SELECT * FROM scan_uploads ORDER BY id',
  scan_upload_history: 'SELECT * FROM scan_upload_history ORDER BY id',
  scan_imports: 'SELECT * FROM scan_imports ORDER BY id',
  outbox_events: 'SELECT id, event_type, aggregate_id, payload FROM outbox_events ORDER BY id',
  scheduled_scans: 'SELECT * FROM scheduled_scans ORDER BY id',
  scheduled_scan_runs: 'SELECT * FROM scheduled_scan_runs ORDER BY id',
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
// Keys and teams. Every fixture lives in the default team ("ours"), but for the team calls that
// change or look up a team of their own; "theirs" is another team.

const teams = { ours: 0, oursName: '', theirs: 0 };

async function createKey(
  permissions: Perm[],
  options: { restricted?: boolean; teamIds?: number[] } = {},
): Promise<{ id: number; key: string }> {
  const res = await t.postJson<{ id: number; apiKey: string }>(
    '/threadfix/rest/api-keys',
    t.adminKey,
    {
      name: uniqueName(`key${options.restricted ? '-restricted' : ''}`),
      permissions,
      restricted: options.restricted ?? false,
      ...(options.teamIds ? { teamIds: options.teamIds } : {}),
    },
  );
  if (res.status !== 200) throw new Error(`createKey: ${res.status} ${res.body.message}`);
  return { id: res.body.object.id, key: res.body.object.apiKey };
}

async function agentKeyOf(apiKey: string): Promise<string> {
  const res = await t.get<string>(`${TASKS}/requestScanAgentKey`, apiKey);
  if (res.status !== 200) throw new Error(`agentKeyOf: ${res.status} ${res.body.message}`);
  return res.body.object;
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

const keysOf = (claim: Claim) => ({
  scanQueueTaskId: claim.taskId,
  secureTaskKey: claim.secureTaskKey,
  scanAgentSecureKey: claim.agentKey,
});

/**
 * A task queued on a fresh application and claimed by `agentKey` with `apiKey` (the key that
 * issued it); older queued tasks of the scanner are claimed on the way.
 */
async function claimWith(apiKey: string, agentKey: string, scanner = 'zap'): Promise<Claim> {
  const applicationId = await givenApplication(t);
  const queued = await queueScan(t, applicationId, scanner);
  for (;;) {
    const res = await t.postForm<{ taskId: number; secureTaskKey: string }>(
      `${TASKS}/requestTask`,
      apiKey,
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

const claimedBy = async (apiKey: string, scanner = 'zap') =>
  claimWith(apiKey, await agentKeyOf(apiKey), scanner);

async function completedScan(): Promise<{ applicationId: number; scanId: number; taskId: number }> {
  const task = await claimedBy(t.adminKey, 'zap');
  const res = await t.postMultipart(`${TASKS}/completeTask`, t.adminKey, keysOf(task), {
    name: ZAP_FILE,
    content: zapResult(),
  });
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

/**
 * A team of its own for a team call and, for the cell of a key limited to the fixture's team, a key
 * with every permission limited to it (Prepared.scopedKey).
 */
async function teamFixture(
  ctx: Ctx,
): Promise<{ team: { id: number; name: string }; key?: string }> {
  const team = await givenTeam();
  return { team, key: ctx.scoped ? (await createKey(ALL, { teamIds: [team.id] })).key : undefined };
}

/** An application made by ThreadFix's POST /teams/{teamId}/applications/new (default: ours). */
async function givenTeamApplication(
  team = { id: teams.ours, name: teams.oursName },
): Promise<{ team: { id: number; name: string }; id: number; name: string }> {
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

/** A ZAP report uploaded directly to an application of ours (its import stays queued here). */
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
    { name: ZAP_FILE, content: zapResult() },
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

/** A yearly schedule (it never fires during the suite) of a fresh application of ours. */
async function givenSchedule(): Promise<{ applicationId: number; id: number; path: string }> {
  const applicationId = await givenApplication(t);
  const res = await t.postJson<{ id: number }>(
    `${R}/applications/${applicationId}/scheduledScans`,
    t.adminKey,
    { scanner: 'zap', cronExpression: '0 0 1 1 *', timezone: 'UTC' },
  );
  if (res.status !== 200) throw new Error(`givenSchedule: ${res.status} ${res.body.message}`);
  const id = res.body.object.id;
  return { applicationId, id, path: `${R}/applications/${applicationId}/scheduledScans/${id}` };
}

const SCHEDULE_FIELDS = [
  'id',
  'applicationId',
  'scanner',
  'scannerShortName',
  'cronExpression',
  'timezone',
  'frequency',
  'hour',
  'minute',
  'period',
  'day',
  'scheduledDate',
  'targetUrl',
  'scanConfigId',
  'enabled',
  'whenPending',
  'priority',
  'retryLimit',
  'retryDelaySeconds',
  'retryBackoff',
  'nextRunAt',
  'lastRunAt',
  'lastRun',
  'createdByApiKeyId',
  'createdTime',
  'modifiedTime',
];

/** A schedule route on a schedule of ours; `missing`: the same call on a missing application. */
function scheduleRoute(
  method: Call['method'],
  suffix: string,
  route: string,
  anyOf: Perm[],
  check: (answer: Answer, schedule: { applicationId: number; id: number }) => Promise<void>,
  json?: Record<string, unknown>,
): Route {
  return {
    controller: 'schedules',
    route,
    anyOf,
    restricted: anyOf === APP_WRITE,
    readOnly: method === 'GET',
    outOfScope: AS_MISSING,
    prepare: async () => {
      const schedule = await givenSchedule();
      const body: Body = json ? { kind: 'json', json } : { kind: 'none' };
      return {
        method,
        url: `${schedule.path}${suffix}`,
        body,
        missing: {
          method,
          url: `${R}/applications/${NONE}/scheduledScans/${schedule.id}${suffix}`,
          body,
        },
        ok: (answer) => check(answer, schedule),
      };
    },
  };
}

const scheduleRow = async (id: number) =>
  (
    await t.query<{ enabled: boolean; when_pending: string }>(
      'SELECT enabled, when_pending FROM scheduled_scans WHERE id = $1',
      [id],
    )
  )[0];

// ---------------------------------------------------------------------------------------------
// The routes, as the controllers declare them. `prepare` makes what a realistic call needs and
// returns the call plus the check of its successful answer.

/** Who the fixture is made for: the calling key (agents and claims are its own) and its scope. */
interface Ctx {
  caller: string;
  scoped: boolean;
}

interface Prepared extends Call {
  ok(answer: Answer): Promise<void>;
  /** The envelope's message on success, when not '' (ThreadFix's pending-scan status has one). */
  successMessage?: string;
  /** For a fixture in a team of its own: a key limited to that team, asking in the in-scope cell. */
  scopedKey?: string;
  /** The same call on a resource that does not exist ('resource' routes). */
  missing?: Call;
  /** The same call presenting another agent key (agent routes), on a missing task if asked. */
  withAgent?(agentKey: string, missing?: boolean): Call;
}

/** What a key limited to another team gets. */
type OutOfScope =
  /** The route touches no application: the same answer as for any key. */
  | { kind: 'none' }
  /** A list: 200, filtered to that team (checked by `check`). */
  | { kind: 'list'; check(answer: Answer): Promise<void> }
  /** Exactly the answer of the same call on a missing resource (`missing`), and no change. */
  | { kind: 'as missing' }
  /** A documented refusal, and no change. */
  | { kind: 'refused'; status: number; message: string };

interface Route {
  controller: string;
  /** METHOD and path as the OpenAPI document names it (checked against it below). */
  route: string;
  anyOf: Perm[];
  restricted: boolean;
  /** Changes nothing on success either: every cell may share one fixture. */
  readOnly?: boolean;
  /** A documented refusal of a key limited to the fixture's team (by default it succeeds). */
  inScope?: { status: number; message: string };
  outOfScope: OutOfScope;
  prepare(ctx: Ctx): Promise<Prepared>;
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
  'online',
  'scanners',
  'currentTask',
  'paused',
  'pausedTime',
];
const PAUSE_FIELDS = ['message', 'changed', 'agent'];
const QUEUE_FIELDS = [
  'scanner',
  'displayName',
  'paused',
  'pausedTime',
  'queued',
  'oldestQueuedAgeSeconds',
];
const QUEUE_PAUSE_FIELDS = ['message', 'changed', 'queue'];
/** The queue the fleet routes pause and resume: no other fixture here queues its tasks. */
const FLEET_SCANNER = 'spider';
const GLOBAL_QUEUE_SCOPE =
  'Pausing or resuming a scanner queue affects every team: it needs an API key not limited to teams.';
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

const AGENT: Perm[] = ['CAN_RUN_SCAN_AGENT', 'CAN_MANAGE_SCAN_AGENTS'];
const SCANNERS: Perm[] = ['CAN_RUN_SCAN_AGENT', 'CAN_MANAGE_SCAN_AGENTS', 'READ_ACCESS'];
const QUEUEING: Perm[] = ['CAN_MANAGE_SCAN_AGENTS'];
const QUEUE_READ: Perm[] = ['CAN_MANAGE_SCAN_QUEUE', 'READ_ACCESS'];
const QUEUE_ADMIN: Perm[] = ['CAN_MANAGE_SCAN_QUEUE'];
const APP_READ: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS'];
const APP_WRITE: Perm[] = ['CAN_MANAGE_APPLICATIONS'];
const SCAN_READ: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS'];
const CONFIG_READ: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_SCAN_AGENTS', 'CAN_MANAGE_APPLICATIONS'];
const KEYS: Perm[] = ['CAN_MANAGE_API_KEYS'];
// ThreadFix's admin calls, after its RestMethod table (docs/threadfix-compatibility.md).
const TEAM_READ: Perm[] = ['READ_ACCESS'];
const TEAM_WRITE: Perm[] = ['CAN_MANAGE_TEAMS'];
const UPLOAD: Perm[] = ['CAN_UPLOAD_SCANS'];
const PENDING_READ: Perm[] = ['CAN_UPLOAD_SCANS', 'READ_ACCESS'];
const DOWNLOAD: Perm[] = ['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS', 'CAN_UPLOAD_SCANS'];
const SCOPED_KEY_CANNOT_CREATE_TEAMS =
  'Your API Key is limited to some teams and cannot create teams.';
const R = '/threadfix/rest';
const AS_MISSING: OutOfScope = { kind: 'as missing' };
const SAME_FOR_ALL: OutOfScope = { kind: 'none' };

/** The agent routes' calls: keys in a form (or multipart fields), the agent key swappable. */
function agentCall(
  claim: Claim,
  build: (keys: ReturnType<typeof keysOf>) => Call,
): Pick<Prepared, 'method' | 'url' | 'body' | 'missing' | 'withAgent'> {
  return {
    ...build(keysOf(claim)),
    missing: build({ ...keysOf(claim), scanQueueTaskId: NONE }),
    withAgent: (agentKey, missing = false) =>
      build({
        ...keysOf(claim),
        scanAgentSecureKey: agentKey,
        ...(missing ? { scanQueueTaskId: NONE } : {}),
      }),
  };
}

/** POST /rest/scan-agents/{id}/pause|resume: revoke's rules; a resume's agent is paused first. */
function agentPauseRoute(action: 'pause' | 'resume'): Route {
  const paused = action === 'pause';
  return {
    controller: 'scan-agents',
    route: `POST /rest/scan-agents/{id}/${action}`,
    anyOf: QUEUE_ADMIN,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      // An agent the caller may see (revoke's rule).
      const id = await agentId(await agentKeyOf(ctx.scoped ? ctx.caller : t.adminKey));
      if (!paused) await t.postForm(`${R}/scan-agents/${id}/pause`, t.adminKey);
      return {
        method: 'POST',
        url: `${R}/scan-agents/${id}/${action}`,
        body: { kind: 'none' },
        missing: {
          method: 'POST',
          url: `${R}/scan-agents/${NONE}/${action}`,
          body: { kind: 'none' },
        },
        ok: async (answer) => {
          const result = object(answer);
          expect(Object.keys(result)).toEqual(PAUSE_FIELDS);
          expect(Object.keys(result.agent as object)).toEqual(AGENT_FIELDS);
          expect(result).toMatchObject({ changed: true, agent: { id, paused } });
          const [row] = await t.query<{ paused: boolean }>(
            'SELECT paused_at IS NOT NULL AS paused FROM scan_agents WHERE id = $1',
            [id],
          );
          expect(row.paused).toBe(paused);
        },
      };
    },
  };
}

/**
 * POST /rest/scanner-queues/{scanner}/pause|resume on FLEET_SCANNER, set the other way first; a
 * pause's check resumes it, so that no other route's fixture meets a paused queue.
 */
function queuePauseRoute(action: 'pause' | 'resume'): Route {
  const paused = action === 'pause';
  return {
    controller: 'scanner-queues',
    route: `POST /rest/scanner-queues/{scanner}/${action}`,
    anyOf: QUEUE_ADMIN,
    restricted: true,
    // Every team's queue: only a key not limited to teams.
    inScope: { status: 403, message: GLOBAL_QUEUE_SCOPE },
    outOfScope: { kind: 'refused', status: 403, message: GLOBAL_QUEUE_SCOPE },
    prepare: async () => {
      const before = paused ? 'resume' : 'pause';
      await t.postForm(`${R}/scanner-queues/${FLEET_SCANNER}/${before}`, t.adminKey);
      return {
        method: 'POST',
        url: `${R}/scanner-queues/${FLEET_SCANNER}/${action}`,
        body: { kind: 'none' },
        ok: async (answer) => {
          const result = object(answer);
          expect(Object.keys(result)).toEqual(QUEUE_PAUSE_FIELDS);
          expect(result).toMatchObject({
            changed: true,
            queue: { scanner: FLEET_SCANNER, paused },
          });
          expect(
            await t.query('SELECT paused_at IS NOT NULL AS paused FROM scanner_queues'),
          ).toEqual([{ paused }]);
          if (paused) await t.postForm(`${R}/scanner-queues/${FLEET_SCANNER}/resume`, t.adminKey);
        },
      };
    },
  };
}

const ROUTES: Route[] = [
  // TasksController: ThreadFix's scan-agent protocol
  {
    controller: 'tasks',
    route: 'GET /rest/tasks/requestScanAgentKey',
    anyOf: AGENT,
    restricted: true,
    outOfScope: SAME_FOR_ALL,
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
    anyOf: SCANNERS,
    restricted: false,
    readOnly: true,
    outOfScope: SAME_FOR_ALL,
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
    anyOf: QUEUEING,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      const form = (id: number): Call => ({
        method: 'POST',
        url: `${TASKS}/queueScan`,
        body: { kind: 'form', fields: { applicationId: id, scannerType: 'appscan' } },
      });
      return {
        ...form(applicationId),
        missing: form(NONE),
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
    // Another team's task is not handed out: the poll finds nothing, as with an empty queue.
    outOfScope: { kind: 'refused', status: 200, message: 'No task found.' },
    prepare: async (ctx) => {
      await queueScan(t, await givenApplication(t), 'webinspect');
      const agentKey = await agentKeyOf(ctx.caller);
      const form = (key: string): Call => ({
        method: 'POST',
        url: `${TASKS}/requestTask`,
        body: {
          kind: 'form',
          fields: { scanners: 'webinspect', agentConfig: 'os.name=Linux', scanAgentSecureKey: key },
        },
      });
      return {
        ...form(agentKey),
        withAgent: form,
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
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const task = await claimedBy(ctx.caller);
      return {
        ...agentCall(task, (k) => ({
          method: 'POST',
          url: `${TASKS}/taskStatusUpdate`,
          body: { kind: 'form', fields: { ...k, message: 'Spidering' } },
        })),
        ok: async (answer) => {
          expect(text(answer)).toBe('Successfully updated ScanQueueTask');
          const rows = await t.query<{ message: string }>(
            'SELECT message FROM scan_statuses WHERE task_id = $1 ORDER BY id',
            [task.taskId],
          );
          expect(rows.at(-1)?.message).toBe('Spidering');
        },
      };
    },
  },
  {
    controller: 'tasks',
    route: 'POST /rest/tasks/setTaskConfig',
    anyOf: QUEUEING,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      const content = Buffer.from(uniqueName('config'));
      const form = (appId: number): Call => ({
        method: 'POST',
        url: `${TASKS}/setTaskConfig`,
        body: {
          kind: 'multipart',
          fields: { appId, scannerType: 'zap' },
          file: { name: 'zap.cfg', content },
        },
      });
      return {
        ...form(applicationId),
        missing: form(NONE),
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
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const task = await claimedBy(ctx.caller);
      return {
        ...agentCall(task, (k) => ({
          method: 'POST',
          url: `${TASKS}/completeTask`,
          body: { kind: 'multipart', fields: k, file: { name: ZAP_FILE, content: zapResult() } },
        })),
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
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const task = await claimedBy(ctx.caller);
      return {
        ...agentCall(task, (k) => ({
          method: 'POST',
          url: `${TASKS}/failTask`,
          body: { kind: 'form', fields: { ...k, message: 'ZAP crashed' } },
        })),
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
    anyOf: QUEUE_READ,
    restricted: false,
    readOnly: true,
    outOfScope: {
      kind: 'list',
      // No application of their team has a task.
      check: async (answer) => expect(object(answer)).toMatchObject({ total: 0, tasks: [] }),
    },
    prepare: async () => {
      await queueScan(t, await givenApplication(t), 'acunetix');
      return {
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
          expect(page.total).toBeGreaterThan(0);
          for (const task of page.tasks as Record<string, unknown>[]) {
            expect(task).toMatchObject({ secureKey: null, scanAgentInstanceSecureKey: null });
            expect(task.scanStatuses).toHaveLength(1);
          }
        },
      };
    },
  },
  {
    controller: 'tasks-admin',
    route: 'GET /rest/tasks/{id}',
    anyOf: QUEUE_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const task = await queueScan(t, await givenApplication(t), 'acunetix');
      return {
        method: 'GET',
        url: `${R}/tasks/${task.id}`,
        body: { kind: 'none' },
        missing: { method: 'GET', url: `${R}/tasks/${NONE}`, body: { kind: 'none' } },
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: task.id,
            statusString: 'QUEUED',
            statusCount: 1,
            statusHistory: [expect.objectContaining({ toStatus: 1, actorType: 'api_key' })],
          });
        },
      };
    },
  },
  {
    controller: 'tasks-admin',
    route: 'GET /rest/tasks/{id}/statuses',
    anyOf: QUEUE_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const task = await queueScan(t, await givenApplication(t), 'acunetix');
      return {
        method: 'GET',
        url: `${R}/tasks/${task.id}/statuses`,
        body: { kind: 'none' },
        missing: { method: 'GET', url: `${R}/tasks/${NONE}/statuses`, body: { kind: 'none' } },
        ok: async (answer) => {
          expect(object(answer)).toEqual({
            total: 1,
            page: 1,
            pageSize: 100,
            statuses: [expect.objectContaining({ toStatus: 1, actorType: 'api_key' })],
          });
        },
      };
    },
  },
  {
    controller: 'tasks-admin',
    route: 'POST /rest/tasks/{id}/cancel',
    anyOf: QUEUE_ADMIN,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const task = await queueScan(t, await givenApplication(t), 'acunetix');
      return {
        method: 'POST',
        url: `${R}/tasks/${task.id}/cancel`,
        body: { kind: 'none' },
        missing: { method: 'POST', url: `${R}/tasks/${NONE}/cancel`, body: { kind: 'none' } },
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
    anyOf: QUEUE_READ,
    restricted: false,
    readOnly: true,
    outOfScope: {
      kind: 'list',
      // The agents of keys within their team only: here, the one their own key issued.
      check: async (answer) => {
        const agents = array(answer);
        expect(agents.length).toBeGreaterThan(0);
        for (const agent of agents) expect(agent.apiKeyId).toBe(keys.theirs.id);
      },
    },
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
    anyOf: QUEUE_ADMIN,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      // An agent the caller may see: for a key limited to teams, one of a key within them.
      const id = await agentId(await agentKeyOf(ctx.scoped ? ctx.caller : t.adminKey));
      return {
        method: 'POST',
        url: `${R}/scan-agents/${id}/revoke`,
        body: { kind: 'none' },
        missing: { method: 'POST', url: `${R}/scan-agents/${NONE}/revoke`, body: { kind: 'none' } },
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
  ...(['pause', 'resume'] as const).map(agentPauseRoute),
  // ScannerQueuesController
  {
    controller: 'scanner-queues',
    route: 'GET /rest/scanner-queues',
    anyOf: QUEUE_READ,
    restricted: false,
    readOnly: true,
    outOfScope: {
      kind: 'list',
      // Every scanner's queue, its counts of their team's tasks only (they queued none).
      check: async (answer) => {
        const queues = array(answer);
        expect(queues).toHaveLength(6);
        for (const queue of queues) expect(queue).toMatchObject({ queued: 0 });
      },
    },
    prepare: async () => ({
      method: 'GET',
      url: `${R}/scanner-queues`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const queues = array(answer);
        expect(queues.map((queue) => queue.scanner)).toEqual([
          'acunetix',
          'spider',
          'burp',
          'appscan',
          'zap',
          'webinspect',
        ]);
        for (const queue of queues) expect(Object.keys(queue)).toEqual(QUEUE_FIELDS);
      },
    }),
  },
  ...(['pause', 'resume'] as const).map(queuePauseRoute),
  // ApiKeysController
  {
    controller: 'api-keys',
    route: 'POST /rest/api-keys',
    anyOf: KEYS,
    restricted: true,
    outOfScope: {
      kind: 'refused',
      status: 403,
      message: 'Your API Key cannot grant access to teams it does not reach itself.',
    },
    prepare: async () => {
      const name = uniqueName('created');
      return {
        method: 'POST',
        url: `${R}/api-keys`,
        // What every key that may call this holds, in the fixture's team.
        body: {
          kind: 'json',
          json: { name, permissions: ['CAN_MANAGE_API_KEYS'], teamIds: [teams.ours] },
        },
        ok: async (answer) => {
          const key = object(answer);
          expect(Object.keys(key)).toEqual([...API_KEY_FIELDS, 'apiKey']);
          expect(key).toMatchObject({
            name,
            permissions: ['CAN_MANAGE_API_KEYS'],
            restricted: false,
            teamIds: [teams.ours],
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
    readOnly: true,
    outOfScope: {
      kind: 'list',
      // Keys within their team only: their own.
      check: async (answer) => expect(array(answer).map((key) => key.id)).toEqual([keys.theirs.id]),
    },
    prepare: async () => ({
      method: 'GET',
      url: `${R}/api-keys`,
      body: { kind: 'none' },
      ok: async (answer) => {
        const listed = array(answer);
        expect(listed.length).toBeGreaterThan(0);
        for (const key of listed) expect(Object.keys(key)).toEqual(API_KEY_FIELDS);
      },
    }),
  },
  {
    controller: 'api-keys',
    route: 'POST /rest/api-keys/{id}/revoke',
    anyOf: KEYS,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      // A key any caller of this route may revoke: its permissions, in the fixture's team.
      const { id, key } = await createKey(['CAN_MANAGE_API_KEYS'], { teamIds: [teams.ours] });
      return {
        method: 'POST',
        url: `${R}/api-keys/${id}/revoke`,
        body: { kind: 'none' },
        missing: { method: 'POST', url: `${R}/api-keys/${NONE}/revoke`, body: { kind: 'none' } },
        ok: async (answer) => {
          const revoked = object(answer);
          expect(Object.keys(revoked)).toEqual(API_KEY_FIELDS);
          expect(revoked).toMatchObject({ id, active: false, revokedTime: expect.any(Number) });
          expect(
            (
              await send(
                { method: 'GET', url: `${R}/api-keys`, body: { kind: 'none' } },
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
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const name = uniqueName('app');
      const create = (teamId: number): Call => ({
        method: 'POST',
        url: `${R}/applications`,
        body: { kind: 'json', json: { name, url: 'http://created.example/', teamId } },
      });
      return {
        ...create(teams.ours),
        missing: create(NONE),
        ok: async (answer) => {
          const app = object(answer);
          expect(Object.keys(app)).toEqual(APP_FIELDS);
          expect(app).toMatchObject({
            name,
            url: 'http://created.example/',
            active: true,
            teamId: teams.ours,
          });
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
    readOnly: true,
    outOfScope: {
      kind: 'list',
      check: async (answer) => expect(array(answer)).toEqual([]),
    },
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
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const id = await givenApplication(t);
      return {
        method: 'GET',
        url: `${R}/applications/${id}`,
        body: { kind: 'none' },
        missing: { method: 'GET', url: `${R}/applications/${NONE}`, body: { kind: 'none' } },
        ok: async (answer) => {
          const app = object(answer);
          // Both shapes: scanqueue's fields and ThreadFix's.
          expect(Object.keys(app)).toEqual(THREADFIX_APP_FIELDS);
          expect(app).toMatchObject({
            id,
            active: true,
            teamId: teams.ours,
            organization: { id: teams.ours, name: teams.oursName },
            scans: [],
          });
        },
      };
    },
  },
  {
    controller: 'applications',
    route: 'PATCH /rest/applications/{id}',
    anyOf: APP_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const id = await givenApplication(t);
      const patch = (appId: number): Call => ({
        method: 'PATCH',
        url: `${R}/applications/${appId}`,
        body: { kind: 'json', json: { description: 'patched' } },
      });
      return {
        ...patch(id),
        missing: patch(NONE),
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
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const id = await givenApplication(t);
      return {
        method: 'POST',
        url: `${R}/applications/${id}/deactivate`,
        body: { kind: 'none' },
        missing: {
          method: 'POST',
          url: `${R}/applications/${NONE}/deactivate`,
          body: { kind: 'none' },
        },
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
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans`,
        body: { kind: 'none' },
        missing: { method: 'GET', url: `${R}/applications/${NONE}/scans`, body: { kind: 'none' } },
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
      };
    },
  },
  {
    controller: 'scans',
    route: 'GET /rest/applications/{applicationId}/scans/{scanId}/file',
    anyOf: SCAN_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/file`,
        body: { kind: 'none' },
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/scans/${scan.scanId}/file`,
          body: { kind: 'none' },
        },
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
    anyOf: CONFIG_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
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
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/scan-configs`,
          body: { kind: 'none' },
        },
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
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/vulnerabilities`,
        body: { kind: 'none' },
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/vulnerabilities`,
          body: { kind: 'none' },
        },
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
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/findings`,
        body: { kind: 'none' },
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/scans/${scan.scanId}/findings`,
          body: { kind: 'none' },
        },
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
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await completedScan();
      return {
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/scans/${scan.scanId}/import`,
        body: { kind: 'none' },
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/scans/${scan.scanId}/import`,
          body: { kind: 'none' },
        },
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
    // A key limited to teams cannot create one, in its own team or any other.
    inScope: { status: 403, message: SCOPED_KEY_CANNOT_CREATE_TEAMS },
    outOfScope: { kind: 'refused', status: 403, message: SCOPED_KEY_CANNOT_CREATE_TEAMS },
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
      };
    },
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams',
    anyOf: TEAM_READ,
    restricted: false,
    readOnly: true,
    outOfScope: {
      kind: 'list',
      check: async (answer) => expect(array(answer).map((team) => team.id)).toEqual([teams.theirs]),
    },
    prepare: async () => ({
      method: 'GET',
      url: `${R}/teams?page=1&pageSize=10000`,
      body: { kind: 'none' },
      ok: async (answer) => {
        expect(array(answer).find((team) => team.id === teams.ours)).toMatchObject({
          name: teams.oursName,
          active: true,
        });
      },
    }),
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams/lookup',
    anyOf: TEAM_READ,
    restricted: false,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const { team, key } = await teamFixture(ctx);
      const lookup = (name: string): Call => ({
        method: 'GET',
        url: `${R}/teams/lookup?name=${encodeURIComponent(name)}`,
        body: { kind: 'none' },
      });
      return {
        ...lookup(team.name),
        // A name of the same shape (its numbers blanked) that no team has.
        missing: lookup(team.name.replace(/\d+/g, '0')),
        scopedKey: key,
        ok: async (answer) => {
          const found = object(answer);
          expect(Object.keys(found)).toEqual(TEAM_FIELDS);
          expect(found).toMatchObject({ id: team.id, name: team.name });
        },
      };
    },
  },
  {
    controller: 'teams',
    route: 'GET /rest/teams/{teamId}',
    anyOf: TEAM_READ,
    restricted: false,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const { team, key } = await teamFixture(ctx);
      const app = await givenTeamApplication(team);
      return {
        method: 'GET',
        url: `${R}/teams/${team.id}`,
        body: { kind: 'none' },
        missing: { method: 'GET', url: `${R}/teams/${NONE}`, body: { kind: 'none' } },
        scopedKey: key,
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: team.id,
            applications: [expect.objectContaining({ id: app.id, name: app.name })],
          });
        },
      };
    },
  },
  {
    controller: 'teams',
    route: 'PUT /rest/teams/{teamId}/update',
    anyOf: TEAM_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const { team, key } = await teamFixture(ctx);
      const name = uniqueName('renamed');
      const update = (id: number): Call => ({
        method: 'PUT',
        url: `${R}/teams/${id}/update?name=${encodeURIComponent(name)}`,
        body: { kind: 'none' },
      });
      return {
        ...update(team.id),
        missing: update(NONE),
        scopedKey: key,
        ok: async (answer) => {
          expect(text(answer)).toBe('Fields updated successfully');
          expect(await t.query('SELECT name FROM teams WHERE id = $1', [team.id])).toEqual([
            { name },
          ]);
        },
      };
    },
  },
  {
    controller: 'teams',
    route: 'DELETE /rest/teams/{teamId}/delete',
    anyOf: TEAM_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async (ctx) => {
      const { team, key } = await teamFixture(ctx);
      const app = await givenTeamApplication(team);
      return {
        method: 'DELETE',
        url: `${R}/teams/${team.id}/delete`,
        body: { kind: 'none' },
        missing: { method: 'DELETE', url: `${R}/teams/${NONE}/delete`, body: { kind: 'none' } },
        scopedKey: key,
        ok: async (answer) => {
          expect(text(answer)).toBe('Team deleted successfully.');
          expect(await t.query('SELECT name, active FROM teams WHERE id = $1', [team.id])).toEqual([
            { name: `deleted-${team.id}-${team.name}`, active: false },
          ]);
          expect(await t.query('SELECT active FROM applications WHERE id = $1', [app.id])).toEqual([
            { active: false },
          ]);
        },
      };
    },
  },
  // ThreadFixApplicationsController
  {
    controller: 'threadfix-applications',
    route: 'POST /rest/teams/{teamId}/applications/new',
    anyOf: APP_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const name = uniqueName('created app');
      const create = (teamId: number): Call => ({
        method: 'POST',
        url: `${R}/teams/${teamId}/applications/new?name=${encodeURIComponent(name)}&url=${encodeURIComponent('http://created.example/')}`,
        body: { kind: 'none' },
      });
      return {
        ...create(teams.ours),
        missing: create(NONE),
        ok: async (answer) => {
          const app = object(answer);
          expect(Object.keys(app)).toEqual(THREADFIX_APP_FIELDS);
          expect(app).toMatchObject({
            name,
            url: 'http://created.example/',
            teamId: teams.ours,
            organization: { id: teams.ours, name: teams.oursName },
            applicationCriticality: { id: 1, name: 'Low' },
            scans: [],
          });
          expect(await t.query('SELECT team_id FROM applications WHERE id = $1', [app.id])).toEqual(
            [{ team_id: teams.ours }],
          );
        },
      };
    },
  },
  {
    controller: 'threadfix-applications',
    route: 'GET /rest/applications/{teamName}/lookup',
    anyOf: APP_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const app = await givenTeamApplication();
      const lookup = (name: string): Call => ({
        method: 'GET',
        url: `${R}/applications/${encodeURIComponent(app.team.name)}/lookup?name=${encodeURIComponent(name)}`,
        body: { kind: 'none' },
      });
      return {
        ...lookup(app.name),
        missing: lookup(uniqueName('no such app')),
        ok: async (answer) => {
          const found = object(answer);
          expect(Object.keys(found)).toEqual(THREADFIX_APP_FIELDS);
          expect(found).toMatchObject({ id: app.id, organization: { id: teams.ours } });
        },
      };
    },
  },
  {
    controller: 'threadfix-applications',
    route: 'PUT /rest/applications/{applicationId}/update',
    anyOf: APP_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const app = await givenTeamApplication();
      const update = (id: number): Call => ({
        method: 'PUT',
        url: `${R}/applications/${id}/update?uniqueId=u-${app.id}&applicationCriticality=4`,
        body: { kind: 'none' },
      });
      return {
        ...update(app.id),
        missing: update(NONE),
        ok: async (answer) => {
          expect(text(answer)).toBe('Fields updated successfully.');
          expect(
            await t.query('SELECT unique_id, criticality FROM applications WHERE id = $1', [
              app.id,
            ]),
          ).toEqual([{ unique_id: `u-${app.id}`, criticality: 4 }]);
        },
      };
    },
  },
  // ThreadFixScansController
  {
    controller: 'threadfix-scans',
    route: 'POST /rest/applications/{applicationId}/upload',
    anyOf: UPLOAD,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const app = await givenTeamApplication();
      const upload = (id: number): Call => ({
        method: 'POST',
        url: `${R}/applications/${id}/upload`,
        body: { kind: 'multipart', fields: {}, file: { name: ZAP_FILE, content: zapResult() } },
      });
      return {
        ...upload(app.id),
        missing: upload(NONE),
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
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/applications/{applicationId}/pendingScan/{pendingScanId}/status',
    anyOf: PENDING_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await uploadedScan();
      const status = (uploadId: number): Call => ({
        method: 'GET',
        url: `${R}/applications/${scan.applicationId}/pendingScan/${uploadId}/status`,
        body: { kind: 'none' },
      });
      return {
        ...status(scan.uploadId),
        missing: status(NONE),
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
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/scans/{scanId}',
    anyOf: SCAN_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await uploadedScan();
      const details = (scanId: number): Call => ({
        method: 'GET',
        url: `${R}/scans/${scanId}?page=1&pageSize=10000`,
        body: { kind: 'none' },
      });
      return {
        ...details(scan.scanId),
        missing: details(NONE),
        ok: async (answer) => {
          expect(object(answer)).toMatchObject({
            id: scan.scanId,
            scannerName: 'OWASP Zed Attack Proxy',
            findings: [],
          });
        },
      };
    },
  },
  {
    controller: 'threadfix-scans',
    route: 'GET /rest/scans/{scanId}/download',
    anyOf: DOWNLOAD,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const scan = await uploadedScan();
      const download = (scanId: number): Call => ({
        method: 'GET',
        url: `${R}/scans/${scanId}/download?scanFileName=${ZAP_FILE}`,
        body: { kind: 'none' },
      });
      return {
        ...download(scan.scanId),
        missing: download(NONE),
        ok: async (answer) => {
          expect(answer.contentType).toMatch(/^application\/xml/);
          expect(answer.raw.equals(zapResult())).toBe(true);
        },
      };
    },
  },
  // SchedulesController
  {
    controller: 'schedules',
    route: 'POST /rest/applications/{applicationId}/scheduledScans',
    anyOf: APP_WRITE,
    restricted: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const applicationId = await givenApplication(t);
      const create = (appId: number): Call => ({
        method: 'POST',
        url: `${R}/applications/${appId}/scheduledScans`,
        body: {
          kind: 'json',
          json: {
            scanner: 'burp',
            frequency: 'Weekly',
            day: 'Sunday',
            hour: 3,
            minute: 15,
            period: 'AM',
          },
        },
      });
      return {
        ...create(applicationId),
        missing: create(NONE),
        ok: async (answer) => {
          const schedule = object(answer);
          expect(Object.keys(schedule)).toEqual(SCHEDULE_FIELDS);
          expect(schedule).toMatchObject({
            applicationId,
            scanner: 'Burp Suite Pro',
            cronExpression: '15 3 * * SUN',
          });
          expect(
            await t.query('SELECT id FROM scheduled_scans WHERE id = $1', [schedule.id]),
          ).toHaveLength(1);
        },
      };
    },
  },
  {
    controller: 'schedules',
    route: 'GET /rest/applications/{applicationId}/scheduledScans',
    anyOf: APP_READ,
    restricted: false,
    readOnly: true,
    outOfScope: AS_MISSING,
    prepare: async () => {
      const schedule = await givenSchedule();
      return {
        method: 'GET',
        url: `${R}/applications/${schedule.applicationId}/scheduledScans`,
        body: { kind: 'none' },
        missing: {
          method: 'GET',
          url: `${R}/applications/${NONE}/scheduledScans`,
          body: { kind: 'none' },
        },
        ok: async (answer) => {
          const [only, ...more] = array(answer);
          expect(more).toEqual([]);
          expect(Object.keys(only)).toEqual(SCHEDULE_FIELDS);
          expect(only.id).toBe(schedule.id);
        },
      };
    },
  },
  scheduleRoute(
    'GET',
    '',
    'GET /rest/applications/{applicationId}/scheduledScans/{scheduleId}',
    APP_READ,
    async (answer, schedule) => {
      const shown = object(answer);
      expect(Object.keys(shown)).toEqual(SCHEDULE_FIELDS);
      expect(shown).toMatchObject({ id: schedule.id, applicationId: schedule.applicationId });
    },
  ),
  scheduleRoute(
    'PATCH',
    '',
    'PATCH /rest/applications/{applicationId}/scheduledScans/{scheduleId}',
    APP_WRITE,
    async (answer, schedule) => {
      expect(object(answer)).toMatchObject({ id: schedule.id, whenPending: 'queue' });
      expect((await scheduleRow(schedule.id)).when_pending).toBe('queue');
    },
    { whenPending: 'queue' },
  ),
  scheduleRoute(
    'DELETE',
    '',
    'DELETE /rest/applications/{applicationId}/scheduledScans/{scheduleId}',
    APP_WRITE,
    async (answer, schedule) => {
      expect(text(answer)).toBe(
        'Cron Scan for OWASP Zed Attack Proxy Scheduled Scan successfully deleted.',
      );
      expect(await scheduleRow(schedule.id)).toBeUndefined();
    },
  ),
  scheduleRoute(
    'POST',
    '/disable',
    'POST /rest/applications/{applicationId}/scheduledScans/{scheduleId}/disable',
    APP_WRITE,
    async (answer, schedule) => {
      expect(object(answer)).toMatchObject({ id: schedule.id, enabled: false, nextRunAt: null });
      expect((await scheduleRow(schedule.id)).enabled).toBe(false);
    },
  ),
  scheduleRoute(
    'POST',
    '/enable',
    'POST /rest/applications/{applicationId}/scheduledScans/{scheduleId}/enable',
    APP_WRITE,
    async (answer, schedule) => {
      expect(object(answer)).toMatchObject({
        id: schedule.id,
        enabled: true,
        nextRunAt: expect.any(String),
      });
      expect((await scheduleRow(schedule.id)).enabled).toBe(true);
    },
  ),
];

// ---------------------------------------------------------------------------------------------
// The callers.

type CaseName =
  | 'no key'
  | 'malformed header'
  | 'unknown key'
  | 'revoked key'
  | 'key with every other permission'
  | 'restricted key'
  | `only ${Perm}`
  | 'limited to its team (in scope)'
  | 'limited to another team (out of scope)';

interface Cell {
  route: string;
  case: CaseName;
  /** Expected status and message (out of scope, a description: the route's outOfScope judges). */
  status: number;
  message: string;
  spec: Route;
}

const keys = {
  revoked: '',
  restricted: '',
  unknown: randomBytes(32).toString('base64url'),
  only: {} as Record<Perm, string>,
  without: new Map<string, string>(),
  /** Every permission, limited to the fixtures' team. */
  ours: { id: 0, key: '' },
  /** Every permission, limited to another team; and an agent key it issued. */
  theirs: { id: 0, key: '' },
  theirAgent: '',
};

beforeAll(async () => {
  [{ id: teams.ours, name: teams.oursName }] = await t.query<{ id: number; name: string }>(
    'SELECT id, name FROM teams WHERE is_default',
  );
  [{ id: teams.theirs }] = await t.query<{ id: number }>(
    `INSERT INTO teams (name) VALUES ('theirs') RETURNING id`,
  );
  const revoked = await createKey(ALL);
  const res = await t.postForm(`${R}/api-keys/${revoked.id}/revoke`, t.adminKey);
  expect(res.status).toBe(200);
  keys.revoked = revoked.key;
  keys.restricted = (await createKey(ALL, { restricted: true })).key;
  for (const p of ALL) keys.only[p] = (await createKey([p])).key;
  for (const route of ROUTES) {
    const others = ALL.filter((p) => !route.anyOf.includes(p));
    const id = others.join('+');
    if (!keys.without.has(id)) keys.without.set(id, (await createKey(others)).key);
  }
  keys.ours = await createKey(ALL, { teamIds: [teams.ours] });
  keys.theirs = await createKey(ALL, { teamIds: [teams.theirs] });
  keys.theirAgent = await agentKeyOf(keys.theirs.key);
});

function apiKeyOf(cell: Cell): string | undefined {
  switch (cell.case) {
    case 'no key':
      return undefined;
    case 'malformed header':
    case 'unknown key':
      return keys.unknown;
    case 'revoked key':
      return keys.revoked;
    case 'key with every other permission':
      return keys.without.get(ALL.filter((p) => !cell.spec.anyOf.includes(p)).join('+'));
    case 'restricted key':
      return keys.restricted;
    case 'limited to its team (in scope)':
      return keys.ours.key;
    case 'limited to another team (out of scope)':
      return keys.theirs.key;
    default:
      return keys.only[cell.case.slice('only '.length) as Perm];
  }
}

function authorization(cell: Cell): string | undefined {
  // A valid key, but not in the `APIKEY <key>` form.
  if (cell.case === 'malformed header') return `Bearer ${t.adminKey}`;
  const key = apiKeyOf(cell);
  return key === undefined ? undefined : `APIKEY ${key}`;
}

const IN_SCOPE = 'limited to its team (in scope)';
const OUT_OF_SCOPE = 'limited to another team (out of scope)';

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
    cell('key with every other permission', 403, lacking(spec.anyOf)),
    // Each permission on its own: any one of the route's suffices, no other does.
    ...ALL.map((p) =>
      spec.anyOf.includes(p)
        ? cell(`only ${p}`, 200, '')
        : cell(`only ${p}`, 403, lacking(spec.anyOf)),
    ),
    spec.restricted ? cell('restricted key', 403, RESTRICTED) : cell('restricted key', 200, ''),
    spec.inScope
      ? cell(IN_SCOPE, spec.inScope.status, spec.inScope.message)
      : cell(IN_SCOPE, 200, ''),
    spec.outOfScope.kind === 'refused'
      ? cell(OUT_OF_SCOPE, spec.outOfScope.status, spec.outOfScope.message)
      : spec.outOfScope.kind === 'as missing'
        ? cell(OUT_OF_SCOPE, 404, 'as for a missing resource')
        : cell(OUT_OF_SCOPE, 200, spec.outOfScope.kind === 'list' ? 'filtered to its team' : ''),
  ];
});

/** Refused and read-only calls share one fixture per route (they change nothing); others get a fresh one. */
const sharedFixtures = new Map<string, Promise<Prepared>>();
const shared = (spec: Route): Promise<Prepared> => {
  if (!sharedFixtures.has(spec.route))
    sharedFixtures.set(spec.route, spec.prepare({ caller: t.adminKey, scoped: false }));
  return sharedFixtures.get(spec.route) as Promise<Prepared>;
};

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
    const { spec } = cell;
    if (cell.case === OUT_OF_SCOPE && spec.outOfScope.kind !== 'none') {
      // The fixture is in our team; their key (and, on agent routes, their own agent) asks.
      const fixture = await shared(spec);
      const asThem = (call: Prepared, missing = false): Call =>
        call.withAgent?.(keys.theirAgent, missing) ?? (missing ? (call.missing as Call) : call);
      const before = await snapshot();
      const answer = await send(asThem(fixture), authorization(cell));
      if (spec.outOfScope.kind === 'list') {
        expect(answer.status).toBe(200);
        await spec.outOfScope.check(answer);
      } else if (spec.outOfScope.kind === 'refused') {
        expect({ status: answer.status, body: answer.json }).toEqual({
          status: cell.status,
          body: failure(cell.message),
        });
      } else {
        expect(fixture.missing).toBeDefined();
        const whenMissing = await send(asThem(fixture, true), authorization(cell));
        expect(shape(answer)).toEqual(shape(whenMissing));
        expect(answer.status).toBe(404);
      }
      expect(await snapshot()).toEqual(before);
    } else if (cell.status !== 200) {
      const call = await shared(spec);
      const before = await snapshot();
      const answer = await send(call, authorization(cell));
      expect({ status: answer.status, body: answer.json }).toEqual({
        status: cell.status,
        body: failure(cell.message),
      });
      expect(await snapshot()).toEqual(before);
    } else {
      const caller = apiKeyOf(cell) as string;
      const call = spec.readOnly
        ? await shared(spec)
        : await spec.prepare({ caller, scoped: cell.case === IN_SCOPE });
      const answer = await send(
        call,
        cell.case === IN_SCOPE && call.scopedKey ? `APIKEY ${call.scopedKey}` : authorization(cell),
      );
      expect({ status: answer.status, message: answer.json?.message }).toEqual({
        status: 200,
        message: answer.json === undefined ? undefined : (call.successMessage ?? ''),
      });
      await call.ok(answer);
    }
  });
});

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Calls on a claimed task with a valid API key but the wrong agent or task key.

type TaskCase =
  | "another agent's key"
  | "another task's key"
  | 'a revoked agent'
  | "another API key's agent"
  | 'a missing task';

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

/**
 * Another agent's task answers exactly as a missing one (404), so an agent cannot probe which task
 * ids exist; a key that is not this agent's (revoked, issued by another API key) is a 403.
 */
const TASK_CASES: [TaskCase, number, (taskId: number) => string][] = [
  ["another agent's key", 404, NO_TASK],
  ['a missing task', 404, () => NO_TASK(NONE)],
  ["another task's key", 403, () => BAD_TASK_KEY],
  ['a revoked agent', 403, () => BAD_AGENT_KEY],
  ["another API key's agent", 403, () => BAD_AGENT_KEY],
];

const TASK_MATRIX = TASK_ROUTES.flatMap((spec) =>
  TASK_CASES.map(([name, status, message]) => ({
    route: spec.route,
    case: name,
    status,
    message,
    spec,
  })),
);

describe('task calls × the wrong agent or task key', () => {
  it.each(TASK_MATRIX)('$route × $case → $status', async (cell) => {
    // Agent A claimed tasks A and B; agent B (same API key) claimed a task of its own.
    const agentA = await agentKeyOf(t.adminKey);
    const taskA = await claimWith(t.adminKey, agentA);
    const taskB = await claimWith(t.adminKey, agentA);
    const agentB = (await claimedBy(t.adminKey)).agentKey;
    const own = keysOf(taskA);
    let presented = own;
    if (cell.case === "another agent's key") presented = { ...own, scanAgentSecureKey: agentB };
    if (cell.case === 'a missing task') presented = { ...own, scanQueueTaskId: NONE };
    if (cell.case === "another task's key")
      presented = { ...own, secureTaskKey: taskB.secureTaskKey };
    if (cell.case === "another API key's agent")
      presented = { ...own, scanAgentSecureKey: await agentKeyOf(keys.only.CAN_RUN_SCAN_AGENT) };
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
      body: failure(cell.message(taskA.taskId)),
    });
    expect(await snapshot()).toEqual(before);
    expect(await taskRow(taskA.taskId)).toEqual({
      status: 2,
      scan_agent_id: await agentId(agentA),
    });
  });
});

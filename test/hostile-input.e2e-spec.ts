/**
 * Hostile input: thousands of generated and mutated requests against every route of the real server
 * (real HTTP, real PostgreSQL), then the database and storage invariants, then memory. Named cases
 * pin the status and message of each known-dangerous input (XXE, entity expansion, deep nesting,
 * format switch mid-file, empty file, cut-off multipart, oversized fields, too many fields/files).
 *
 * Every response must be the envelope `{message, success, responseCode: -1, object}` (health and
 * the docs excepted) with a 2xx or 4xx status, within REQUEST_TIMEOUT_MS. The fuzz seed is printed;
 * `FUZZ_SEED=<n>` replays a run, `FUZZ_RUNS=<n>` changes its size.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  AgentTask,
  ClaimedTask,
  completeTask,
  fixture,
  givenAgentKey,
  givenApplication,
  givenClaimedTask,
  keysOf,
  TASKS,
  taskStatus,
} from './support/agent-flow';
import { TestServer } from './support/test-server';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 5200);
// CI gates on a fixed, known-good sample (5,200 requests); local runs explore a new seed each time
// and print it, so a failure can be replayed and turned into a named case.
const CI_SEED = 632854513;
const FUZZ_SEED = Number(
  process.env.FUZZ_SEED ?? (process.env.CI ? CI_SEED : Date.now() % 2_147_483_647),
);
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_FIELD_BYTES = 1024 * 1024; // the server's default MAX_FIELD_BYTES
const MAX_RSS_GROWTH_BYTES = 256 * 1024 * 1024;
const ENVELOPE_KEYS = ['message', 'object', 'responseCode', 'success'];

let t: TestServer;
let rssBaseline = 0;
let rssPeak = 0;
let rssTimer: NodeJS.Timeout | undefined;
const suiteStarted = Date.now();

/** VmRSS / VmHWM of the server process, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

async function sampleRss(): Promise<void> {
  const { rss } = await memoryOf(t.pid);
  rssPeak = Math.max(rssPeak, rss);
}

beforeAll(async () => {
  // The rate limiter (if this build has one) would turn the fuzz into 429s; it is not under test here.
  t = await TestServer.start({ RATE_LIMIT_PER_MINUTE: '0' });
  rssBaseline = (await memoryOf(t.pid)).rss;
  rssPeak = rssBaseline;
  rssTimer = setInterval(() => void sampleRss().catch(() => undefined), 100);
});
afterAll(async () => {
  if (rssTimer) clearInterval(rssTimer);
  await t?.stop();
});

// ---------------------------------------------------------------------------------------------
// Raw HTTP: node:http so methods, header bytes and bodies (broken multipart included) are ours.
// ---------------------------------------------------------------------------------------------

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  ms: number;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
afterAll(() => keepAlive.destroy());

/** Sends one request; rejects on a timeout or when the connection ends without a response. */
function send(
  req: RawRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
  agent: Agent | false = keepAlive,
): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    const client = httpRequest(
      `${t.baseUrl}${req.path}`,
      { method: req.method, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => finish(error));
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          }),
        );
      },
    );
    const timer = setTimeout(() => {
      client.destroy();
      finish(new Error(`no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    let done = false;
    function finish(error: Error | undefined, response?: RawResponse) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (response) resolve(response);
      else reject(error ?? new Error('no response'));
    }
    // The server may answer (and stop reading) before the whole body is written: keep the answer.
    client.on('error', (error) => setTimeout(() => finish(error), 200));
    client.end(req.body);
  });
}

/**
 * Node's HTTP parser refuses some requests (an unknown method, a header over 16 KiB, a control
 * character) before Fastify routes them; Fastify's default clientErrorHandler answers those outside
 * the envelope and closes the socket without `Connection: close`. Reported apart (fix in src/app.ts).
 */
function isParserLevelAnswer(res: RawResponse): boolean {
  const body = parseJson(res.text);
  return (
    typeof body === 'object' &&
    body !== null &&
    JSON.stringify(Object.keys(body).sort()) === '["error","message","statusCode"]' &&
    ['Client Error', 'Exceeded maximum allowed HTTP header size'].includes(
      String((body as { message?: unknown }).message),
    )
  );
}

/** A keep-alive socket the server closed without saying so (see isParserLevelAnswer). */
const isStaleSocket = (error: unknown) =>
  /socket hang up|ECONNRESET|EPIPE/.test((error as Error).message);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRawRoute(method: string, pathWithQuery: string): boolean {
  const raw = pathWithQuery.split('?')[0];
  // Dot segments resolved as a URL's are: `/threadfix//../health` is the health route.
  let p = raw;
  try {
    p = raw.startsWith('/') ? new URL(`http://scanqueue.invalid${raw}`).pathname : raw;
  } catch {
    // Not a path a URL can hold: matched as it is.
  }
  return /^(\/threadfix)?\/(health|docs|docs-json)(\/|$)/.test(p) || method === 'HEAD';
}

/** What is wrong with a response, or undefined when it is a well-formed answer. */
function responseProblem(req: RawRequest, res: RawResponse): string | undefined {
  if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400))
    return `status ${res.status}: ${res.text.slice(0, 200)}`;
  if (isRawRoute(req.method, req.path)) return undefined;
  // A scan file download is the file itself.
  if (res.status === 200 && /\/scans\/\d+\/(file|download)(\?|$)/.test(req.path)) return undefined;
  const body = parseJson(res.text);
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return `not a JSON object (${res.status}): ${res.text.slice(0, 200)}`;
  const envelope = body as Record<string, unknown>;
  // ThreadFix's additions: an upload's `links` (success), updateApplication's `errorMap` (failure).
  const extra =
    res.status === 200 && /\/upload(\?|$)/.test(req.path)
      ? 'links'
      : res.status >= 400 && /\/update(\?|$)/.test(req.path)
        ? 'errorMap'
        : undefined;
  const keys = Object.keys(envelope)
    .filter((key) => key !== extra)
    .sort();
  if (JSON.stringify(keys) !== JSON.stringify(ENVELOPE_KEYS))
    return `keys ${keys.join(',')} (${res.status}): ${res.text.slice(0, 200)}`;
  if (envelope.responseCode !== -1) return `responseCode ${String(envelope.responseCode)}`;
  if (typeof envelope.message !== 'string' || typeof envelope.success !== 'boolean')
    return `message/success types: ${res.text.slice(0, 200)}`;
  if (res.status >= 400 && (envelope.success || envelope.object !== null || !envelope.message))
    return `a ${res.status} that is not a failure envelope: ${res.text.slice(0, 200)}`;
  if (envelope.success && res.status !== 200) return `success with status ${res.status}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------------

type Scalar = string | number | boolean | null;
type Value = Scalar | Value[] | { [key: string]: Value };

interface Part {
  name: string;
  value: Buffer | string;
  filename?: string;
  contentType?: string;
}

function partHead(boundary: string, part: Part): string {
  const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
  const type = part.contentType ? `\r\nContent-Type: ${part.contentType}` : '';
  return `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${filename}${type}\r\n\r\n`;
}

function multipartBody(boundary: string, parts: Part[], close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(partHead(boundary, part), 'latin1'));
    chunks.push(typeof part.value === 'string' ? Buffer.from(part.value) : part.value);
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const scalarText = (value: Value): string =>
  typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);

function formBody(fields: [string, Value][]): string {
  const params = new URLSearchParams();
  for (const [name, value] of fields) {
    if (Array.isArray(value)) for (const item of value) params.append(name, scalarText(item));
    else params.append(name, scalarText(value));
  }
  return params.toString();
}

function jsonBody(fields: [string, Value][]): string {
  const object: Record<string, Value> = {};
  for (const [name, value] of fields) object[name] = value;
  return JSON.stringify(object);
}

/** A header value Node will send: the UTF-8 bytes of the text, as latin1, visible characters only. */
function headerSafe(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

// ---------------------------------------------------------------------------------------------
// The world the fuzz draws real ids and keys from (and adds to, from its own successful claims)
// ---------------------------------------------------------------------------------------------

interface World {
  appId: number;
  appIds: number[];
  /** Applications and keys the fuzz may deactivate/revoke without blinding itself. */
  sacrificialAppIds: number[];
  sacrificialApiKeyIds: number[];
  sacrificialAgentIds: number[];
  tasks: ClaimedTask[];
  agentKeys: string[];
  readerKey: string;
  restrictedKey: string;
  revokedKey: string;
  scan: { applicationId: number; scanId: number };
  /** Teams of the ThreadFix calls (updated, never deleted), their applications, and teams to delete. */
  teamIds: number[];
  teamNames: string[];
  teamAppIds: number[];
  teamAppNames: string[];
  sacrificialTeamIds: number[];
  /** A direct upload (ThreadFix's pending scan) and its scan. */
  upload: { applicationId: number; uploadId: number; scanId: number };
}

let world: World;

const pick = <T>(items: readonly T[], i: number): T => items[i % items.length];

/** Resolved at send time: against the world as it is then, and the one task a request is about. */
type Resolver<T> = (w: World, task: ClaimedTask | undefined) => T;

const ZAP = () => fixture('zap/5_zap_sample_one.xml');
const BURP = () => fixture('burp/one_finding.xml');

// Values: real ones (so handlers get past the checks) and hostile ones.
const NASTY_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1.5',
  '1e309',
  'NaN',
  'null',
  'undefined',
  'true',
  '2147483647',
  '2147483648',
  '99999999999999999999',
  '-9007199254740993',
  ' 7 ',
  '0x10',
  '[]',
  '{}',
  '\u0000',
  'a\u0000b',
  '%00',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(50),
  'ﷺ',
  '\u202eevil',
  'زبان',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE scans; --',
  '../../../../etc/passwd',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'http://',
  'http://[::1',
  'https://example.com/' + 'a'.repeat(300),
  '\r\nX-Injected: 1',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
];

const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('x', '😀', '\u0000', 'é', '<'), fc.integer({ min: 200, max: 70_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);

const hostileValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => v as Value),
  },
  {
    // deeper than any DTO (the named cases send 100k levels as raw JSON)
    weight: 1,
    arbitrary: fc.integer({ min: 10, max: 600 }).map((depth) => {
      let v: Value = 'deep';
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
      return v;
    }),
  },
);

const realTask = fc.nat().map(
  (i): Resolver<ClaimedTask | undefined> =>
    (w) =>
      w.tasks.length ? pick(w.tasks, i) : undefined,
);

/** One parameter: what a real client would send, a hostile value, or absent. */
type FieldRule = Resolver<Value | undefined>;

const fieldValue = (good: fc.Arbitrary<Resolver<Value>>): fc.Arbitrary<FieldRule> =>
  fc.oneof(
    { weight: 8, arbitrary: good },
    {
      weight: 2,
      arbitrary: hostileValue.map(
        (v): FieldRule =>
          () =>
            v,
      ),
    },
    { weight: 1, arbitrary: fc.constant((): Value | undefined => undefined) },
  );

const good = <T extends Value>(arb: fc.Arbitrary<T>): fc.Arbitrary<Resolver<Value>> =>
  arb.map((v) => () => v);

/** A real task key: mostly of the request's own task, sometimes of another one (a mismatch). */
const goodTaskField = (
  key: 'taskId' | 'secureTaskKey' | 'agentKey',
): fc.Arbitrary<Resolver<Value>> =>
  fc.tuple(realTask, fc.nat(9)).map(([other, dice]) => (w, task) => {
    const found = dice === 0 ? other(w, task) : task;
    if (!found) return key === 'taskId' ? 1 : 'none';
    return key === 'taskId' ? found.taskId : found[key];
  });

const SCANNER_NAMES = [
  'zap',
  'OWASP Zed Attack Proxy',
  ' burp ',
  'Burp Suite',
  'acunetix',
  'IBM Rational AppScan',
  'webinspect',
  'NTO Spider',
  'nessus',
  'ZAP,burp',
  'zap,burp,acunetix,appscan,webinspect,spider',
  'zap,burp,acunetix,appscan,webinspect,spider',
];
const scannerName = good(fc.constantFrom(...SCANNER_NAMES));
const realAppId = fc.nat().map(
  (i): Resolver<Value> =>
    (w) =>
      pick(w.appIds, i),
);
const realAgentKey = fc.nat().map(
  (i): Resolver<Value> =>
    (w) =>
      pick(w.agentKeys, i),
);
const urlValue = good(
  fc.oneof(fc.constantFrom('http://target.example/', 'https://a.example:8443/x?y=1'), fc.webUrl()),
);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Teams and their applications: names the world has (so lookups succeed), and ThreadFix's rules' edges.
const teamNameValue = fc.oneof(
  fc.string({ minLength: 1, maxLength: 70 }),
  fc.constantFrom('C+B', 'Équipe', '<b>x</b>', 'x'.repeat(59), 'x'.repeat(60), ' '),
);
const realTeamId = fc.nat().map(
  (i): Resolver<Value> =>
    (w) =>
      pick(w.teamIds, i),
);
const realTeamName = fc.nat().map(
  (i): Resolver<Value> =>
    (w) =>
      pick(w.teamNames, i),
);
const realTeamAppName = fc.nat().map(
  (i): Resolver<Value> =>
    (w) =>
      pick(w.teamAppNames, i),
);

type Encoding = 'query' | 'form' | 'json' | 'multipart';

interface Route {
  name: string;
  method: string;
  /** The path after the /rest prefix (or the whole path for health and docs). */
  path: fc.Arbitrary<Resolver<string>>;
  /** Each parameter with what a real client sends; the fuzz mixes in hostile values. */
  fields: [string, fc.Arbitrary<Resolver<Value>>][];
  encoding: Encoding;
  /** The file part a multipart route expects. */
  file?: string;
  rest: boolean;
}

const constPath = (p: string) => fc.constant((): string => p);

/** Path ids: real ones, garbage, and numbers out of range. Never one that names a key or agent we rely on. */
const garbageId = fc.oneof(
  fc.constantFrom(
    '0',
    '-1',
    'abc',
    '99999999',
    '2147483648',
    '99999999999999999999',
    '1e3',
    '%20',
    '%ZZ',
    '%E0%A4%A',
    '1.0',
    '１',
    '%F0%9F%98%80',
    '..',
    'null',
  ),
  fc.integer({ min: 10_000_000, max: 2_000_000_000 }).map(String),
);
const idPath = (real: fc.Arbitrary<Resolver<Value>>, tail = '') =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: real.map(
        (r): Resolver<string> =>
          (w, task) =>
            `${String(r(w, task))}${tail}`,
      ),
    },
    { weight: 2, arbitrary: garbageId.map((id) => (): string => `${id}${tail}`) },
  );

/** An application's schedule: a real application, a low id (the fuzz's own) or garbage. */
const schedulePath = (tail = '') =>
  fc.tuple(idPath(realAppId), fc.oneof(fc.integer({ min: 1, max: 30 }).map(String), garbageId)).map(
    ([app, id]): Resolver<string> =>
      (w, task) =>
        `${app(w, task)}/scheduledScans/${id}${tail}`,
  );
const scheduleFields: [string, fc.Arbitrary<Resolver<Value>>][] = [
  ['scanner', good(fc.constantFrom('zap', 'Burp Suite', 'OWASP ZAP', 'webinspect'))],
  [
    'cronExpression',
    good(
      fc.oneof(
        fc.constantFrom('0 2 * * *', '*/5 * * * *', '0 0 1 1 *', '0 0 2 ? * MON'),
        fc.string(),
      ),
    ),
  ],
  ['timezone', good(fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'utc'))],
  ['frequency', good(fc.constantFrom('Daily', 'Weekly', 'daily'))],
  ['hour', good(fc.integer({ min: 0, max: 12 }))],
  ['minute', good(fc.constantFrom(0, 15, 30, 45))],
  ['period', good(fc.constantFrom('AM', 'PM'))],
  ['day', good(fc.constantFrom('Monday', 'sunday'))],
  ['targetUrl', urlValue],
  ['whenPending', good(fc.constantFrom('skip', 'queue'))],
  ['enabled', good(fc.boolean())],
  ['priority', good(fc.integer({ min: -100, max: 100 }))],
  ['retryLimit', good(fc.integer({ min: 0, max: 20 }))],
];

const ROUTES: Route[] = [
  {
    name: 'health',
    method: 'GET',
    path: constPath('/health'),
    fields: [],
    encoding: 'query',
    rest: false,
  },
  {
    name: 'docs',
    method: 'GET',
    path: constPath('/docs'),
    fields: [],
    encoding: 'query',
    rest: false,
  },
  {
    name: 'docs-json',
    method: 'GET',
    path: constPath('/docs-json'),
    fields: [],
    encoding: 'query',
    rest: false,
  },
  {
    name: 'api-keys create',
    method: 'POST',
    path: constPath('/api-keys'),
    fields: [
      ['name', good(fc.string({ minLength: 1, maxLength: 30 }))],
      [
        'permissions',
        good(
          fc.subarray(['READ_ACCESS', 'CAN_MANAGE_APPLICATIONS', 'CAN_MANAGE_SCAN_AGENTS'], {
            minLength: 1,
          }),
        ),
      ],
      ['restricted', good(fc.boolean())],
    ],
    encoding: 'json',
    rest: true,
  },
  {
    name: 'api-keys list',
    method: 'GET',
    path: constPath('/api-keys'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'api-keys revoke',
    method: 'POST',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.sacrificialApiKeyIds, i)),
      '/revoke',
    ),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'applications create',
    method: 'POST',
    path: constPath('/applications'),
    fields: [
      ['name', good(fc.string({ minLength: 1, maxLength: 40 }))],
      ['url', urlValue],
      ['description', good(fc.string({ maxLength: 200 }))],
    ],
    encoding: 'json',
    rest: true,
  },
  {
    name: 'applications list',
    method: 'GET',
    path: constPath('/applications'),
    fields: [['includeInactive', good(fc.constantFrom('true', 'false'))]],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'application get',
    method: 'GET',
    path: idPath(realAppId),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'application patch',
    method: 'PATCH',
    path: idPath(realAppId),
    fields: [
      ['name', good(fc.string({ minLength: 1, maxLength: 40 }))],
      ['url', urlValue],
      ['description', good(fc.string({ maxLength: 200 }))],
    ],
    encoding: 'json',
    rest: true,
  },
  {
    name: 'application deactivate',
    method: 'POST',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.sacrificialAppIds, i)),
      '/deactivate',
    ),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'scans list',
    method: 'GET',
    path: idPath(realAppId, '/scans'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scan-configs list',
    method: 'GET',
    path: idPath(realAppId, '/scan-configs'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'schedule create',
    method: 'POST',
    path: idPath(realAppId, '/scheduledScans'),
    fields: scheduleFields,
    encoding: 'json',
    rest: true,
  },
  {
    name: 'schedules list',
    method: 'GET',
    path: idPath(realAppId, '/scheduledScans'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'schedule get',
    method: 'GET',
    path: schedulePath(),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'schedule patch',
    method: 'PATCH',
    path: schedulePath(),
    fields: scheduleFields,
    encoding: 'json',
    rest: true,
  },
  {
    name: 'schedule delete',
    method: 'DELETE',
    path: schedulePath(),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'schedule enable',
    method: 'POST',
    path: schedulePath('/enable'),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'schedule disable',
    method: 'POST',
    path: schedulePath('/disable'),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'scan file',
    method: 'GET',
    path: fc.oneof(
      fc.constant((w: World) => `${w.scan.applicationId}/scans/${w.scan.scanId}/file`),
      fc.tuple(garbageId, garbageId).map(
        ([a, s]) =>
          (): string =>
            `${a}/scans/${s}/file`,
      ),
      garbageId.map((s) => (w: World) => `${w.scan.applicationId}/scans/${s}/file`),
    ),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scan-agents list',
    method: 'GET',
    path: constPath('/scan-agents'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scan-agent revoke',
    method: 'POST',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.sacrificialAgentIds, i)),
      '/revoke',
    ),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  ...(['pause', 'resume'] as const).map((action): Route => ({
    name: `scan-agent ${action}`,
    method: 'POST',
    // The sacrificial agents only: pausing the ones the fuzz claims with would starve its claims.
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.sacrificialAgentIds, i)),
      `/${action}`,
    ),
    fields: [],
    encoding: 'form',
    rest: true,
  })),
  {
    name: 'scanner-queues list',
    method: 'GET',
    path: constPath('/scanner-queues'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  ...(['pause', 'resume'] as const).map((action): Route => ({
    name: `scanner-queue ${action}`,
    method: 'POST',
    // Real names of one scanner only (AppSpider's) for a pause, so the other queues keep flowing
    // for the fuzz's claims; any name for a resume; and garbage.
    path: fc
      .oneof(
        fc.constantFrom(
          ...(action === 'pause'
            ? ['spider', 'AppSpider', 'NTO%20Spider', 'APPSPIDER']
            : ['zap', 'OWASP%20ZAP', 'burp', 'acunetix', 'appscan', 'webinspect', 'spider']),
        ),
        fc.constantFrom('nessus', '%20', '%ZZ', '..', 'null', 'x'.repeat(5000), '%F0%9F%98%80'),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
      )
      .map((scanner) => (): string => `/scanner-queues/${scanner}/${action}`),
    fields: [],
    encoding: 'form',
    rest: true,
  })),
  {
    name: 'tasks list',
    method: 'GET',
    path: constPath('/tasks'),
    fields: [
      ['status', good(fc.integer({ min: 1, max: 7 }))],
      ['applicationId', realAppId],
      ['scanner', scannerName],
      ['page', good(fc.integer({ min: 1, max: 5 }))],
      ['pageSize', good(fc.integer({ min: 1, max: 500 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'task get',
    method: 'GET',
    path: idPath(goodTaskField('taskId')),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'task statuses',
    method: 'GET',
    path: idPath(goodTaskField('taskId'), '/statuses'),
    fields: [
      ['page', good(fc.integer({ min: 1, max: 5 }))],
      ['pageSize', good(fc.integer({ min: 1, max: 500 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'task cancel',
    method: 'POST',
    path: idPath(goodTaskField('taskId'), '/cancel'),
    fields: [],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'requestScanAgentKey',
    method: 'GET',
    path: constPath('/tasks/requestScanAgentKey'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scanners',
    method: 'GET',
    path: constPath('/tasks/scanners'),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'queueScan',
    method: 'POST',
    path: constPath('/tasks/queueScan'),
    fields: [
      ['applicationId', realAppId],
      ['scannerType', scannerName],
      ['targetUrl', urlValue],
      ['targetURL', urlValue],
      ['timeoutSeconds', good(fc.integer({ min: 60, max: 86_400 }))],
      ['scanConfigId', good(fc.integer({ min: 1, max: 5 }))],
      ['priority', good(fc.integer({ min: -100, max: 100 }))],
      ['retryLimit', good(fc.integer({ min: 0, max: 20 }))],
      ['retryDelaySeconds', good(fc.integer({ min: 0, max: 86_400 }))],
      ['retryBackoff', good(fc.constantFrom('true', 'false'))],
    ],
    encoding: 'form',
    rest: true,
  },
  {
    name: 'requestTask',
    method: 'POST',
    path: constPath('/tasks/requestTask'),
    fields: [
      ['scanners', scannerName],
      ['agentConfig', good(fc.string({ maxLength: 100 }))],
      ['scanAgentSecureKey', realAgentKey],
      // A good wait is 0 here (a long one would only slow the run); bad ones are 400s.
      ['waitSeconds', good(fc.constant(0))],
    ],
    encoding: 'form',
    file: 'files',
    rest: true,
  },
  ...(['taskStatusUpdate', 'failTask'] as const).map((name): Route => ({
    name,
    method: 'POST',
    path: constPath(`/tasks/${name}`),
    fields: [
      ['scanQueueTaskId', goodTaskField('taskId')],
      ['message', good(fc.string({ maxLength: 100 }))],
      ['secureTaskKey', goodTaskField('secureTaskKey')],
      ['scanAgentSecureKey', goodTaskField('agentKey')],
    ],
    encoding: 'form',
    rest: true,
  })),
  {
    name: 'setTaskConfig',
    method: 'POST',
    path: constPath('/tasks/setTaskConfig'),
    fields: [
      ['appId', realAppId],
      ['scannerType', scannerName],
    ],
    encoding: 'multipart',
    file: 'file',
    rest: true,
  },
  {
    name: 'completeTask',
    method: 'POST',
    path: constPath('/tasks/completeTask'),
    fields: [
      ['scanQueueTaskId', goodTaskField('taskId')],
      ['scanAgentSecureKey', goodTaskField('agentKey')],
      ['secureTaskKey', goodTaskField('secureTaskKey')],
    ],
    encoding: 'multipart',
    file: 'file',
    rest: true,
  },
  // ThreadFix's admin calls (issue 16): teams, applications in teams, direct upload, scans.
  {
    name: 'auth/apikey',
    method: 'GET',
    path: constPath('/auth/apikey'),
    fields: [],
    encoding: 'query',
    rest: false,
  },
  {
    name: 'team create',
    method: 'POST',
    path: constPath('/teams/new'),
    fields: [['name', good(teamNameValue)]],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'teams list',
    method: 'GET',
    path: constPath('/teams'),
    fields: [
      ['page', good(fc.integer({ min: 1, max: 5 }))],
      ['pageSize', good(fc.integer({ min: 1, max: 10_000 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'team lookup',
    method: 'GET',
    path: constPath('/teams/lookup'),
    fields: [['name', realTeamName]],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'team get',
    method: 'GET',
    path: idPath(realTeamId),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'team update',
    method: 'PUT',
    path: idPath(realTeamId, '/update'),
    fields: [['name', good(teamNameValue)]],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'team delete',
    method: 'DELETE',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.sacrificialTeamIds, i)),
      '/delete',
    ),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'team application create',
    method: 'POST',
    path: idPath(realTeamId, '/applications/new'),
    fields: [
      ['name', good(fc.string({ minLength: 1, maxLength: 70 }))],
      ['url', urlValue],
      ['description', good(fc.string({ maxLength: 200 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'application lookup',
    method: 'GET',
    path: fc.oneof(
      realTeamName.map(
        (r): Resolver<string> =>
          (w, task) =>
            `${encodeURIComponent(String(r(w, task)))}/lookup`,
      ),
      // A lone surrogate cannot be percent-encoded (encodeURIComponent throws): it becomes U+FFFD.
      nastyString.map(
        (name) => (): string =>
          `${encodeURIComponent(name.replace(LONE_SURROGATE, '\ufffd'))}/lookup`,
      ),
    ),
    fields: [
      ['name', realTeamAppName],
      ['uniqueId', good(fc.constantFrom('u-1', 'u-2', ''))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'application update',
    method: 'PUT',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick(w.teamAppIds, i)),
      '/update',
    ),
    fields: [
      ['name', good(fc.string({ minLength: 1, maxLength: 70 }))],
      ['url', urlValue],
      ['uniqueId', good(fc.constantFrom('u-1', 'u-2', ''))],
      ['applicationCriticality', good(fc.integer({ min: 0, max: 5 }))],
      ['team', realTeamId],
      ['repositoryPassword', good(fc.constantFrom('hunter2'))],
      ['skipApplicationMerge', good(fc.constantFrom('True'))],
      ['description', good(fc.string({ maxLength: 200 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'upload',
    method: 'POST',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick([...w.appIds, ...w.teamAppIds], i)),
      '/upload',
    ),
    fields: [['channelId', good(fc.integer({ min: 1, max: 30 }))]],
    encoding: 'multipart',
    file: 'file',
    rest: true,
  },
  {
    name: 'pending scan status',
    method: 'GET',
    path: fc.oneof(
      fc.constant(
        (w: World) => `${w.upload.applicationId}/pendingScan/${w.upload.uploadId}/status`,
      ),
      fc.tuple(garbageId, garbageId).map(
        ([a, u]) =>
          (): string =>
            `${a}/pendingScan/${u}/status`,
      ),
      garbageId.map((u) => (w: World) => `${w.upload.applicationId}/pendingScan/${u}/status`),
    ),
    fields: [],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scan details',
    method: 'GET',
    path: idPath(fc.nat().map((i) => (w: World) => pick([w.scan.scanId, w.upload.scanId], i))),
    fields: [
      ['page', good(fc.integer({ min: 1, max: 3 }))],
      ['pageSize', good(fc.integer({ min: 1, max: 10_001 }))],
    ],
    encoding: 'query',
    rest: true,
  },
  {
    name: 'scan download',
    method: 'GET',
    path: idPath(
      fc.nat().map((i) => (w: World) => pick([w.scan.scanId, w.upload.scanId], i)),
      '/download',
    ),
    fields: [['scanFileName', good(fc.constantFrom('z.xml', 'scan.xml', '../z.xml'))]],
    encoding: 'query',
    rest: true,
  },
];

// Task fields of one request should name the same task (else every call is a key mismatch):
// completeTask/taskStatusUpdate/failTask use one drawn task for all three unless mutated apart.

const PREFIXES = [
  '/threadfix/rest/latest',
  '/threadfix/rest',
  '/rest',
  '/rest/latest',
  '/rest/v2.8',
  '/threadfix/rest/2.4',
  '/threadfix/rest/LATEST',
  '/threadfix/rest/v2.3', // unsupported version
  '/threadfix/rest/v99.0.1',
  '/threadfix/rest/%E0%A4%A', // malformed percent-encoding in the version slot
  '/threadfix/rest/%ZZ',
  '/threadfix//rest/latest',
  '/THREADFIX/rest/latest',
];

type Auth =
  | 'admin'
  | 'admin-query'
  | 'admin-lowercase'
  | 'reader'
  | 'restricted'
  | 'revoked'
  | 'none'
  | 'agent-key-as-api-key';

const authArb: fc.Arbitrary<Auth | { raw: string }> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Auth>('admin') },
  {
    weight: 4,
    arbitrary: fc.constantFrom<Auth>(
      'admin-query',
      'admin-lowercase',
      'reader',
      'restricted',
      'revoked',
      'none',
      'agent-key-as-api-key',
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          '',
          'APIKEY',
          'APIKEY ',
          'Bearer abc',
          'Basic YWRtaW46YWRtaW4=',
          'APIKEY a b',
          'APIKEY\t\tx',
          'apikey null',
          'APIKEY ' + 'k'.repeat(8000),
        ),
        nastyString.map((s) => `APIKEY ${s.slice(0, 4000)}`),
        nastyString.map((s) => s.slice(0, 4000)),
      )
      .map((raw) => ({ raw: headerSafe(raw) })),
  },
);

type FileKind =
  'zap' | 'burp' | 'empty' | 'garbage' | 'truncated-zap' | 'xxe' | 'not-utf8' | 'deep' | 'big-zap';

interface FileSpec {
  kind: FileKind;
  filename: string;
  contentType: string;
  garbage: Uint8Array;
}

function fileContent(spec: FileSpec): Buffer {
  switch (spec.kind) {
    case 'zap':
      return ZAP();
    case 'burp':
      return BURP();
    case 'empty':
      return Buffer.alloc(0);
    case 'garbage':
      return Buffer.from(spec.garbage);
    case 'truncated-zap':
      return ZAP().subarray(0, 1 + ((spec.garbage.length * 37) % 2900));
    case 'xxe':
      return Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><OWASPZAPReport>&x;</OWASPZAPReport>',
      );
    case 'not-utf8':
      return Buffer.concat([ZAP().subarray(0, 500), Buffer.from([0xff, 0xfe, 0xc0, 0x80])]);
    case 'deep':
      return Buffer.from(`<OWASPZAPReport>${'<a>'.repeat(3000)}`);
    case 'big-zap':
      return bigZap(200 * 1024);
  }
}

/** A valid ZAP report of about `size` bytes. */
function bigZap(size: number): Buffer {
  const item =
    '<alertitem><pluginid>1</pluginid><alert>x</alert><desc>' +
    'd'.repeat(400) +
    '</desc></alertitem>';
  const count = Math.max(1, Math.ceil(size / item.length));
  return Buffer.from(
    `<?xml version="1.0"?><OWASPZAPReport version="2.9.0"><site name="https://a.example"><alerts>${item.repeat(count)}</alerts></site></OWASPZAPReport>`,
  );
}

const fileArb: fc.Arbitrary<FileSpec> = fc.record({
  kind: fc.constantFrom<FileKind>(
    'zap',
    'zap',
    'zap',
    'burp',
    'empty',
    'garbage',
    'truncated-zap',
    'xxe',
    'not-utf8',
    'deep',
    'big-zap',
  ),
  filename: fc.oneof(
    fc.constantFrom(
      'scan.xml',
      '',
      '../../etc/passwd',
      'a"b.xml',
      'x'.repeat(600),
      'é😀.xml',
      'nul\u0000.xml',
    ),
    fc.string({ unit: 'binary', maxLength: 30 }),
  ),
  contentType: fc.oneof(
    fc.constantFrom('application/xml', 'text/xml', 'application/octet-stream', 'application/json'),
    fc.constant('application/' + 'x'.repeat(200)),
    fc.string({ maxLength: 30 }),
  ),
  garbage: fc.uint8Array({ maxLength: 2048 }),
});

type BodyMutation =
  | 'none'
  | 'truncate'
  | 'no-closing'
  | 'wrong-boundary'
  | 'no-boundary'
  | 'two-files'
  | 'many-fields'
  | 'huge-field'
  | 'duplicate-field'
  | 'lf-only';

interface FuzzSpec {
  route: Route;
  prefix: string;
  pathTail: Resolver<string>;
  auth: Auth | { raw: string };
  values: FieldRule[];
  /** The claimed task this request is about. */
  task: Resolver<ClaimedTask | undefined>;
  encoding: Encoding | 'natural' | 'text' | 'garbage-type' | 'none';
  extra: [string, Value][];
  repeat: boolean;
  method: string | null;
  file: FileSpec | null;
  mutation: BodyMutation;
  cut: number;
}

const ROUTE_WEIGHTS: Record<string, number> = {
  completeTask: 8,
  requestTask: 5,
  queueScan: 5,
  taskStatusUpdate: 4,
  failTask: 2,
  setTaskConfig: 3,
  'task cancel': 1,
  upload: 3,
};

const specArb = (route: Route): fc.Arbitrary<FuzzSpec> =>
  fc.record({
    route: fc.constant(route),
    prefix: route.rest
      ? fc.constantFrom(...PREFIXES)
      : fc.constantFrom('/threadfix', '', '/threadfix/'),
    pathTail: route.path,
    auth: authArb,
    values: fc
      .tuple(...route.fields.map(([, arb]) => fieldValue(arb)))
      .map((v) => v as FieldRule[]),
    task: realTask,
    encoding: fc.oneof(
      { weight: 8, arbitrary: fc.constant<'natural'>('natural') },
      {
        weight: 3,
        arbitrary: fc.constantFrom<FuzzSpec['encoding']>(
          'query',
          'form',
          'json',
          'multipart',
          'text',
          'garbage-type',
          'none',
        ),
      },
    ),
    extra: fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('apiKey', 'id', 'file', 'message', '__proto__', 'constructor'),
          fc.string({ maxLength: 10 }),
        ),
        hostileValue,
      ),
      { maxLength: 3 },
    ),
    repeat: fc.boolean(),
    // Mostly the route's own method; sometimes another (FOO is refused by Node's HTTP parser).
    method: fc.oneof(
      { weight: 14, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'GET',
          'POST',
          'PUT',
          'DELETE',
          'PATCH',
          'OPTIONS',
          'HEAD',
          'PROPFIND',
          'FOO',
        ),
      },
    ),
    file: fc.oneof(
      { weight: route.file === 'file' ? 8 : 1, arbitrary: fileArb },
      { weight: route.file === 'file' ? 1 : 8, arbitrary: fc.constant(null) },
    ),
    mutation: fc.oneof(
      { weight: 14, arbitrary: fc.constant<BodyMutation>('none') },
      {
        weight: 6,
        arbitrary: fc.constantFrom<BodyMutation>(
          'truncate',
          'no-closing',
          'wrong-boundary',
          'no-boundary',
          'two-files',
          'many-fields',
          'huge-field',
          'duplicate-field',
          'lf-only',
        ),
      },
    ),
    cut: fc.nat(),
  });

/** Paths no route serves, methods no route takes. */
const randomPathArb = fc
  .record({
    prefix: fc.constantFrom(
      '',
      '/threadfix',
      '/threadfix/rest',
      '/rest/latest',
      '/threadfix/rest/latest/tasks',
    ),
    segments: fc.array(
      fc.oneof(
        fc.constantFrom(
          'tasks',
          'applications',
          '..',
          '.',
          '',
          '%2e%2e',
          '%00',
          '%ZZ',
          '%',
          '~',
          'docs',
          'health',
          'scans',
          'a'.repeat(3000),
        ),
        fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeURIComponent(s)),
        fc.webSegment(),
      ),
      { maxLength: 6 },
    ),
    query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    method: fc.constantFrom(
      'GET',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'OPTIONS',
      'HEAD',
      'TRACE',
      'M-SEARCH',
      'LINK',
    ),
    auth: authArb,
  })
  .map((r): Resolver<RawRequest> => (w) => ({
    method: r.method,
    path: `${r.prefix}/${r.segments.join('/')}${r.query ? `?${r.query}` : ''}`,
    headers: authHeaders(r.auth, w),
  }));

function authHeaders(auth: Auth | { raw: string }, w: World): Record<string, string> {
  if (typeof auth === 'object') return { authorization: auth.raw };
  switch (auth) {
    case 'admin':
      return { authorization: `APIKEY ${t.adminKey}` };
    case 'admin-lowercase':
      return { authorization: `apikey   ${t.adminKey}  ` };
    case 'reader':
      return { authorization: `APIKEY ${w.readerKey}` };
    case 'restricted':
      return { authorization: `APIKEY ${w.restrictedKey}` };
    case 'revoked':
      return { authorization: `APIKEY ${w.revokedKey}` };
    case 'agent-key-as-api-key':
      return { authorization: `APIKEY ${pick(w.agentKeys, 0)}` };
    default:
      return {};
  }
}

interface Resolved {
  request: RawRequest;
  /** Claimed tasks from a successful requestTask join the world. */
  agentKey?: string;
}

/** Turns an abstract spec into bytes on the wire, against the world as it is now. */
function resolveSpec(spec: FuzzSpec, w: World): Resolved {
  const { route } = spec;
  const task = spec.task(w, undefined);
  const fields: [string, Value][] = [];
  route.fields.forEach(([name], i) => {
    const value = spec.values[i](w, task);
    if (value !== undefined) fields.push([name, value]);
  });
  for (const extra of spec.extra) fields.push(extra);
  if (spec.repeat && fields.length > 0) fields.push([fields[0][0], fields[fields.length - 1][1]]);

  const headers = authHeaders(spec.auth, w);
  let query = '';
  if (spec.auth === 'admin-query') query = `apiKey=${encodeURIComponent(t.adminKey)}`;
  const tail = spec.pathTail(w, task);
  const base = route.rest
    ? `${spec.prefix}/${tailOf(route, tail)}`
    : `${spec.prefix.replace(/\/$/, '')}${tail}`;

  let encoding = spec.encoding === 'natural' ? route.encoding : spec.encoding;
  if (spec.file && encoding !== 'multipart' && route.file) encoding = 'multipart';
  let body: Buffer | undefined;
  if (encoding === 'query' || encoding === 'none') {
    const q = formBody(fields);
    if (encoding === 'query' && q) query = query ? `${query}&${q}` : q;
  } else if (encoding === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = Buffer.from(formBody(fields));
  } else if (encoding === 'json') {
    headers['content-type'] = 'application/json';
    body = Buffer.from(jsonBody(fields));
  } else if (encoding === 'text') {
    headers['content-type'] = 'text/plain';
    body = Buffer.from(formBody(fields));
  } else if (encoding === 'garbage-type') {
    headers['content-type'] = pick(
      [
        'application/xml',
        'image/png',
        'multipart/mixed; boundary=x',
        'application/json; charset=utf-16',
        ';;;',
        'x/y',
      ],
      spec.cut,
    );
    body = Buffer.from(spec.extra.length ? jsonBody(fields) : formBody(fields));
  } else {
    const built = buildMultipart(spec, fields);
    headers['content-type'] = built.contentType;
    body = built.body;
  }
  const method = spec.method ?? route.method;
  const request: RawRequest = {
    method,
    path: query ? `${base}?${query}` : base,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  };
  const agentKeyField = fields.find(([name]) => name === 'scanAgentSecureKey');
  return {
    request,
    agentKey: typeof agentKeyField?.[1] === 'string' ? agentKeyField[1] : undefined,
  };
}

function tailOf(route: Route, tail: string): string {
  const resource: Record<string, string> = {
    'api-keys revoke': 'api-keys/',
    'application get': 'applications/',
    'application patch': 'applications/',
    'application deactivate': 'applications/',
    'scans list': 'applications/',
    'scan-configs list': 'applications/',
    'schedule create': 'applications/',
    'schedules list': 'applications/',
    'schedule get': 'applications/',
    'schedule patch': 'applications/',
    'schedule delete': 'applications/',
    'schedule enable': 'applications/',
    'schedule disable': 'applications/',
    'scan file': 'applications/',
    'scan-agent revoke': 'scan-agents/',
    'scan-agent pause': 'scan-agents/',
    'scan-agent resume': 'scan-agents/',
    'task get': 'tasks/',
    'task statuses': 'tasks/',
    'task cancel': 'tasks/',
    'team get': 'teams/',
    'team update': 'teams/',
    'team delete': 'teams/',
    'team application create': 'teams/',
    'application lookup': 'applications/',
    'application update': 'applications/',
    upload: 'applications/',
    'pending scan status': 'applications/',
    'scan details': 'scans/',
    'scan download': 'scans/',
  };
  return `${resource[route.name] ?? ''}${tail.replace(/^\//, '')}`;
}

function buildMultipart(
  spec: FuzzSpec,
  fields: [string, Value][],
): { contentType: string; body: Buffer } {
  const boundary = `----fuzz${spec.cut % 100000}`;
  const parts: Part[] = fields.map(([name, value]) => ({
    name: headerSafe(name).replace(/"/g, ''),
    value: scalarText(Array.isArray(value) ? (value[0] ?? '') : value),
  }));
  const fileField = spec.route.file ?? 'file';
  if (spec.file) {
    parts.push({
      name: fileField,
      value: fileContent(spec.file),
      filename: headerSafe(spec.file.filename).replace(/["\r\n]/g, ''),
      contentType: headerSafe(spec.file.contentType).replace(/[\r\n;]/g, '') || undefined,
    });
  }
  let contentType = `multipart/form-data; boundary=${boundary}`;
  switch (spec.mutation) {
    case 'two-files':
      parts.push({ name: fileField, value: ZAP(), filename: 'second.xml' });
      break;
    case 'many-fields':
      for (let i = 0; i < 200 + (spec.cut % 3000); i++)
        parts.unshift({ name: `f${i}`, value: 'v' });
      break;
    case 'huge-field':
      parts.unshift({
        name: 'message',
        value: 'h'.repeat(MAX_FIELD_BYTES + 1 + (spec.cut % 1000)),
      });
      break;
    case 'duplicate-field':
      if (parts.length) parts.unshift({ ...parts[parts.length - 1], filename: undefined });
      break;
    case 'wrong-boundary':
      contentType = 'multipart/form-data; boundary=somethingelse';
      break;
    case 'no-boundary':
      contentType = 'multipart/form-data';
      break;
    default:
      break;
  }
  let body = multipartBody(boundary, parts, spec.mutation !== 'no-closing');
  if (spec.mutation === 'truncate' && body.length > 0)
    body = body.subarray(0, spec.cut % body.length);
  if (spec.mutation === 'lf-only')
    body = Buffer.from(body.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  return { contentType, body };
}

/** The call as a well-behaved client makes it: real ids and keys, so the deep paths run. */
const pristineArb = (route: Route): fc.Arbitrary<FuzzSpec> =>
  fc.tuple(specArb(route), fc.tuple(...route.fields.map(([, arb]) => arb))).map(([spec, good]) => ({
    ...spec,
    prefix: route.rest ? '/threadfix/rest/latest' : '/threadfix',
    auth: 'admin' as const,
    values: good as FieldRule[],
    encoding: 'natural' as const,
    extra: [],
    repeat: false,
    method: null,
    mutation: 'none' as const,
    file:
      route.file === 'file'
        ? {
            kind: 'zap' as const,
            filename: 'scan.xml',
            contentType: 'application/xml',
            garbage: new Uint8Array(),
          }
        : null,
  }));

const weightedRoutes = fc.oneof(
  ...ROUTES.map((route) => ({
    weight: ROUTE_WEIGHTS[route.name] ?? 1,
    arbitrary: fc.oneof(
      { weight: 3, arbitrary: specArb(route) },
      { weight: 1, arbitrary: pristineArb(route) },
    ),
  })),
);

type Generated = { kind: 'spec'; spec: FuzzSpec } | { kind: 'random'; make: Resolver<RawRequest> };

const generatedArb: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 9, arbitrary: weightedRoutes.map((spec): Generated => ({ kind: 'spec', spec })) },
  { weight: 1, arbitrary: randomPathArb.map((make): Generated => ({ kind: 'random', make })) },
);

// ---------------------------------------------------------------------------------------------
// Named cases
// ---------------------------------------------------------------------------------------------

interface Envelope {
  message: string;
  success: boolean;
  responseCode: number;
  object: unknown;
}

const incomingDir = () => path.join(t.dataDir, 'scans', '.incoming');
const incomingFiles = () => readdir(incomingDir()).catch(() => [] as string[]);

async function waitForNoIncoming(): Promise<string[]> {
  const deadline = Date.now() + 5000;
  let files = await incomingFiles();
  while (files.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    files = await incomingFiles();
  }
  return files;
}

function envelopeOf(res: RawResponse): Envelope {
  const problem = responseProblem({ method: 'POST', path: '/rest', headers: {} }, res);
  if (problem) throw new Error(problem);
  return JSON.parse(res.text) as Envelope;
}

/** completeTask with the task's keys first and `file` last, as a raw multipart body. */
function completeTaskBody(task: ClaimedTask, file: Buffer, boundary = 'hostileBoundary'): Buffer {
  return multipartBody(boundary, [
    ...Object.entries(keysOf(task)).map(([name, value]) => ({ name, value: String(value) })),
    { name: 'file', value: file, filename: 'scan.xml', contentType: 'application/xml' },
  ]);
}

function postCompleteTask(body: Buffer, boundary = 'hostileBoundary'): Promise<RawResponse> {
  return send({
    method: 'POST',
    path: `${TASKS}/completeTask`,
    headers: {
      authorization: `APIKEY ${t.adminKey}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    body,
  });
}

/** The task is still ASSIGNED, has no scan and left no temporary file. */
async function expectUntouched(task: ClaimedTask): Promise<void> {
  expect(await taskStatus(t, task.taskId)).toBe(2);
  expect(await t.query('SELECT id FROM scans WHERE task_id = $1', [task.taskId])).toEqual([]);
  expect(await waitForNoIncoming()).toEqual([]);
}

const UNSAFE_DOCTYPE =
  'The XML contains a DOCTYPE with entity declarations or an external reference; refused.';
const MALFORMED_MULTIPART = 'The multipart/form-data body is malformed.';

describe('named hostile uploads to completeTask', () => {
  const refusedUpload = async (file: Buffer, status: number, message: string | RegExp) => {
    const task = await givenClaimedTask(t);
    const res = await postCompleteTask(completeTaskBody(task, file));
    const body = envelopeOf(res);
    expect({ status: res.status, success: body.success, object: body.object }).toEqual({
      status,
      success: false,
      object: null,
    });
    if (typeof message === 'string') expect(body.message).toBe(message);
    else expect(body.message).toMatch(message);
    await expectUntouched(task);
    return task;
  };

  it('XXE: an external entity is refused (422) before anything is resolved', async () => {
    await refusedUpload(
      Buffer.from(
        '<?xml version="1.0"?>\n<!DOCTYPE OWASPZAPReport [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<OWASPZAPReport version="2.9.0"><site name="&xxe;"/></OWASPZAPReport>',
      ),
      422,
      UNSAFE_DOCTYPE,
    );
    await refusedUpload(
      Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE OWASPZAPReport SYSTEM "http://127.0.0.1:1/evil.dtd"><OWASPZAPReport/>',
      ),
      422,
      UNSAFE_DOCTYPE,
    );
  });

  it('billion laughs: internal entity declarations are refused (422) without expansion', async () => {
    let dtd = '<!ENTITY lol "lol">';
    for (let i = 1; i <= 9; i++)
      dtd += `<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`;
    const started = Date.now();
    await refusedUpload(
      Buffer.from(
        `<?xml version="1.0"?><!DOCTYPE OWASPZAPReport [${dtd}]><OWASPZAPReport>&lol9;</OWASPZAPReport>`,
      ),
      422,
      UNSAFE_DOCTYPE,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('100k nested elements are refused (422) at the depth limit, not with a stack overflow', async () => {
    const depth = 100_000;
    await refusedUpload(
      Buffer.from(`<OWASPZAPReport>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</OWASPZAPReport>`),
      422,
      'The XML nests elements too deeply.',
    );
  });

  it('a valid ZAP report for its first megabyte that then turns into binary garbage is refused (422)', async () => {
    const head = bigZap(1024 * 1024).toString('latin1');
    const valid = Buffer.from(head.slice(0, head.lastIndexOf('</alerts>')), 'latin1'); // still open
    expect(valid.length).toBeGreaterThan(1024 * 1024);
    const garbage = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x80, 0xfe,
    ]);
    await refusedUpload(
      Buffer.concat([valid, garbage, Buffer.alloc(64 * 1024, 0xaa)]),
      422,
      'The XML was not well-formed and could not be parsed. (invalid UTF-8)',
    );
  });

  it('a valid ZAP report for its first megabyte that then switches to another format is refused (422)', async () => {
    const zap = bigZap(1024 * 1024);
    const json = Buffer.from('\n{"@version":"2.11","site":[{"alerts":[]}]}\n'.repeat(100));
    await refusedUpload(
      Buffer.concat([zap, json]),
      422,
      /^The XML was not well-formed and could not be parsed\. \(line \d+, column \d+: text data outside of root node\.\)$/,
    );
  });

  it('a 0-byte file is refused (422)', async () => {
    await refusedUpload(Buffer.alloc(0), 422, 'The uploaded file is empty.');
  });

  it('a multipart body that stops mid-part and ends: 400, no temp file, the task stays ASSIGNED', async () => {
    const task = await givenClaimedTask(t);
    const full = completeTaskBody(task, bigZap(256 * 1024));
    const res = await postCompleteTask(full.subarray(0, full.length - 100 * 1024));
    const body = envelopeOf(res);
    expect([res.status, body.message]).toEqual([400, MALFORMED_MULTIPART]);
    await expectUntouched(task);
    // The agent can still finish it.
    expect((await completeTask(t, task, { name: 'z.xml', content: ZAP() })).status).toBe(200);
  });

  it('a multipart body that stops mid-part and whose connection is destroyed: no 5xx, no temp file, task ASSIGNED', async () => {
    const task = await givenClaimedTask(t);
    const full = completeTaskBody(task, bigZap(512 * 1024));
    const logBefore = t.output.length;
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${t.baseUrl}${TASKS}/completeTask`, {
        method: 'POST',
        headers: {
          authorization: `APIKEY ${t.adminKey}`,
          'content-type': 'multipart/form-data; boundary=hostileBoundary',
          'content-length': String(full.length),
        },
      });
      req.on('error', () => undefined);
      req.on('response', (res) => {
        // Whatever comes back before the cut must not be a 5xx.
        expect(res.statusCode).toBeLessThan(500);
        res.resume();
      });
      req.write(full.subarray(0, 300 * 1024), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300),
      );
    });
    await expectUntouched(task);
    expect(t.output.slice(logBefore)).not.toMatch(/ERROR/);
    expect((await send({ method: 'GET', path: '/threadfix/health', headers: {} })).status).toBe(
      200,
    );
  });

  it('a form field over MAX_FIELD_BYTES is 413 (multipart and urlencoded)', async () => {
    const task = await givenClaimedTask(t);
    const boundary = 'hostileBoundary';
    const body = multipartBody(boundary, [
      { name: 'message', value: 'x'.repeat(MAX_FIELD_BYTES + 1) },
      ...Object.entries(keysOf(task)).map(([name, value]) => ({ name, value: String(value) })),
      { name: 'file', value: ZAP(), filename: 'z.xml' },
    ]);
    const res = await postCompleteTask(body, boundary);
    expect([res.status, envelopeOf(res).message]).toEqual([
      413,
      `Form field 'message' is larger than ${MAX_FIELD_BYTES} bytes.`,
    ]);
    const form = await send({
      method: 'POST',
      path: `${TASKS}/taskStatusUpdate`,
      headers: {
        authorization: `APIKEY ${t.adminKey}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: Buffer.from(
        `${new URLSearchParams({ ...keysOf(task), scanQueueTaskId: String(task.taskId) }).toString()}&message=${'y'.repeat(MAX_FIELD_BYTES + 1)}`,
      ),
    });
    expect([form.status, envelopeOf(form).message]).toEqual([
      413,
      'The request body is too large.',
    ]);
    await expectUntouched(task);
  });

  it('thousands of fields (over MAX_MULTIPART_FIELDS) are 413', async () => {
    const task = await givenClaimedTask(t);
    const parts: Part[] = Array.from({ length: 5000 }, (_, i) => ({
      name: `field${i}`,
      value: String(i),
    }));
    const body = multipartBody('hostileBoundary', [
      ...parts,
      ...Object.entries(keysOf(task)).map(([name, value]) => ({ name, value: String(value) })),
      { name: 'file', value: ZAP(), filename: 'z.xml' },
    ]);
    const res = await postCompleteTask(body);
    expect([res.status, envelopeOf(res).message]).toEqual([
      413,
      'The request has too many form fields.',
    ]);
    await expectUntouched(task);
  });

  it('more than one file part is 413', async () => {
    const task = await givenClaimedTask(t);
    const body = multipartBody('hostileBoundary', [
      ...Object.entries(keysOf(task)).map(([name, value]) => ({ name, value: String(value) })),
      { name: 'file', value: ZAP(), filename: 'a.xml' },
      { name: 'file', value: ZAP(), filename: 'b.xml' },
    ]);
    const res = await postCompleteTask(body);
    expect([res.status, envelopeOf(res).message]).toEqual([413, 'The request has too many files.']);
    // The first file was fine, but a request with two is refused as a whole: nothing stored.
    await expectUntouched(task);
  });
});

describe('named hostile requests found by the fuzz (regressions)', () => {
  const admin = { authorization: `APIKEY __ADMIN__` };
  const withAdmin = (headers: Record<string, string> = {}) => ({
    ...headers,
    authorization: admin.authorization.replace('__ADMIN__', t.adminKey),
  });
  const expectEnvelope = async (req: RawRequest, status: number, message: string) => {
    const res = await send(req);
    expect([res.status, envelopeOf(res).message]).toEqual([status, message]);
  };

  it('malformed percent-encoding in the version slot does not kill the server (404)', async () => {
    for (const p of [
      '/threadfix/rest/%E0%A4%A/tasks/scanners',
      '/rest/%/x',
      '/threadfix/rest/%ZZ',
    ]) {
      await expectEnvelope(
        { method: 'GET', path: p, headers: withAdmin() },
        404,
        'Bad rest request due to unrecognized path.',
      );
    }
    expect((await send({ method: 'GET', path: '/threadfix/health', headers: {} })).status).toBe(
      200,
    );
  });

  it('malformed percent-encoding in a path id is the 404 envelope, not Fastify’s own error', async () => {
    await expectEnvelope(
      { method: 'GET', path: '/threadfix/rest/applications/%ZZ', headers: withAdmin() },
      404,
      'Bad rest request due to unrecognized path.',
    );
  });

  it('a path segment over 100 characters is the 404 envelope, not Fastify’s 414 echoing the path', async () => {
    for (const p of [
      `/threadfix/rest/latest/tasks/${'a'.repeat(3000)}`,
      `/threadfix/rest/applications/${'1'.repeat(101)}/scans`,
    ]) {
      await expectEnvelope(
        { method: 'GET', path: p, headers: withAdmin() },
        404,
        'Bad rest request due to unrecognized path.',
      );
    }
  });

  it('an application created or renamed to a taken name: 409, nothing logged at ERROR (fuzz seed 762621338)', async () => {
    const logBefore = t.output.length;
    const name = `taken-${Date.now()}`;
    const first = await t.postJson<{ id: number }>('/rest/applications', t.adminKey, { name });
    const second = await t.postJson<{ id: number }>('/rest/applications', t.adminKey, {
      name: `${name}-2`,
    });
    expect([first.status, second.status]).toEqual([200, 200]);
    const again = await t.postJson('/rest/applications', t.adminKey, { name: name.toUpperCase() });
    expect([again.status, again.body.message]).toEqual([
      409,
      `An application named '${name.toUpperCase()}' already exists in this team.`,
    ]);
    const renamed = await t.postJson(
      `/rest/applications/${second.body.object.id}`,
      t.adminKey,
      { name },
      'PATCH',
    );
    expect([renamed.status, renamed.body.message]).toEqual([
      409,
      `An application named '${name}' already exists.`,
    ]);
    // Its own name, in another case, is not taken by itself.
    const own = await t.postJson(
      `/rest/applications/${first.body.object.id}`,
      t.adminKey,
      { name: name.toUpperCase() },
      'PATCH',
    );
    expect(own.status).toBe(200);
    expect(t.output.slice(logBefore)).not.toMatch(/ERROR/);
  });

  it("queueScan's priority and retry policy out of bounds are 400s with the field's bounds", async () => {
    const appId = await givenApplication(t);
    for (const [field, value, message] of [
      ['priority', '101', 'priority must be an integer from -100 to 100.'],
      ['priority', '-32769', 'priority must be an integer from -100 to 100.'],
      ['priority', '2.5', 'priority must be an integer from -100 to 100.'],
      ['retryLimit', '21', 'retryLimit must be an integer from 0 to 20.'],
      ['retryLimit', '-1', 'retryLimit must be an integer from 0 to 20.'],
      ['retryDelaySeconds', '86401', 'retryDelaySeconds must be an integer from 0 to 86400.'],
      [
        'retryDelaySeconds',
        '99999999999999',
        'retryDelaySeconds must be an integer from 0 to 86400.',
      ],
      ['retryBackoff', 'yes', 'retryBackoff must be true or false.'],
    ]) {
      await expectEnvelope(
        {
          method: 'POST',
          path: `${TASKS}/queueScan`,
          headers: withAdmin({ 'content-type': 'application/x-www-form-urlencoded' }),
          body: Buffer.from(`applicationId=${appId}&scannerType=zap&${field}=${value}`),
        },
        400,
        message,
      );
    }
  });

  it('ids beyond PostgreSQL int4 are 400s, not query failures', async () => {
    const appId = await givenApplication(t);
    await expectEnvelope(
      {
        method: 'POST',
        path: `${TASKS}/queueScan`,
        headers: withAdmin({ 'content-type': 'application/x-www-form-urlencoded' }),
        body: Buffer.from('applicationId=999999999999999&scannerType=zap'),
      },
      400,
      'applicationId must not be greater than 2147483647',
    );
    await expectEnvelope(
      {
        method: 'POST',
        path: `${TASKS}/queueScan`,
        headers: withAdmin({ 'content-type': 'application/x-www-form-urlencoded' }),
        body: Buffer.from(`applicationId=${appId}&scannerType=zap&scanConfigId=99999999999`),
      },
      400,
      'scanConfigId must not be greater than 2147483647',
    );
    await expectEnvelope(
      {
        method: 'GET',
        path: '/threadfix/rest/tasks?applicationId=99999999999',
        headers: withAdmin(),
      },
      400,
      'applicationId must not be greater than 2147483647',
    );
  });

  it('a NUL character in a stored text is a 400, not a database error', async () => {
    await expectEnvelope(
      {
        method: 'POST',
        path: '/threadfix/rest/applications',
        headers: withAdmin({ 'content-type': 'application/json' }),
        body: Buffer.from(JSON.stringify({ name: 'nul\u0000app' })),
      },
      400,
      "Parameter 'name' contains a NUL character.",
    );
    const task = await givenClaimedTask(t);
    await expectEnvelope(
      {
        method: 'POST',
        path: `${TASKS}/taskStatusUpdate`,
        headers: withAdmin({ 'content-type': 'application/x-www-form-urlencoded' }),
        body: Buffer.from(
          new URLSearchParams({
            ...keysOf(task),
            scanQueueTaskId: String(task.taskId),
            message: 'a\u0000b',
          }).toString(),
        ),
      },
      400,
      "Parameter 'message' contains a NUL character.",
    );
    const agentKey = await givenAgentKey(t);
    await expectEnvelope(
      {
        method: 'POST',
        path: `${TASKS}/requestTask`,
        headers: withAdmin({ 'content-type': 'application/x-www-form-urlencoded' }),
        body: Buffer.from(
          new URLSearchParams({
            scanners: 'zap',
            agentConfig: 'os=\u0000',
            scanAgentSecureKey: agentKey,
          }).toString(),
        ),
      },
      400,
      "Parameter 'agentConfig' contains a NUL character.",
    );
    // A file name is information only: its control characters are dropped, the upload is taken.
    const res = await postCompleteTask(
      multipartBody('hostileBoundary', [
        ...Object.entries(keysOf(task)).map(([name, value]) => ({ name, value: String(value) })),
        { name: 'file', value: ZAP(), filename: `nul\u0000${'n'.repeat(400)}.xml` },
      ]),
    );
    expect(res.status).toBe(200);
    const [scan] = await t.query<{ original_filename: string }>(
      'SELECT original_filename FROM scans WHERE task_id = $1',
      [task.taskId],
    );
    expect(scan.original_filename).toBe(`nul${'n'.repeat(252)}`);
  });

  it('PATCH name: null is a 400 (name is required), url: null clears the url', async () => {
    const appId = await givenApplication(t);
    await expectEnvelope(
      {
        method: 'PATCH',
        path: `/threadfix/rest/applications/${appId}`,
        headers: withAdmin({ 'content-type': 'application/json' }),
        body: Buffer.from('{"name":null}'),
      },
      400,
      'name must be a string.',
    );
    const cleared = await send({
      method: 'PATCH',
      path: `/threadfix/rest/applications/${appId}`,
      headers: withAdmin({ 'content-type': 'application/json' }),
      body: Buffer.from('{"url":null}'),
    });
    expect(cleared.status).toBe(200);
    expect((envelopeOf(cleared).object as { url: unknown }).url).toBeNull();
  });

  it('a deeply nested JSON body is a 400, not a stack overflow', async () => {
    const depth = 100_000;
    for (const body of [
      `{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"name":"x","z":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
    ]) {
      await expectEnvelope(
        {
          method: 'POST',
          path: '/threadfix/rest/applications',
          headers: withAdmin({ 'content-type': 'application/json' }),
          body: Buffer.from(body),
        },
        400,
        'The parameters are nested too deeply.',
      );
    }
  });

  it('an upload refused before its end leaves the keep-alive connection usable', async () => {
    const task = await givenClaimedTask(t);
    const single = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaOneSocket = (req: RawRequest) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const client = httpRequest(
          `${t.baseUrl}${req.path}`,
          { method: req.method, headers: req.headers, agent: single },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: client.socket }));
          },
        );
        client.on('error', reject);
        client.setTimeout(5000, () => client.destroy(new Error('no answer within 5 s')));
        client.end(req.body);
      });
    try {
      // Refused at the depth limit after a few KB; the other 600 KB are still on the wire.
      const body = completeTaskBody(
        task,
        Buffer.from(
          `<OWASPZAPReport>${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</OWASPZAPReport>`,
        ),
      );
      const refused = await viaOneSocket({
        method: 'POST',
        path: `${TASKS}/completeTask`,
        headers: {
          authorization: `APIKEY ${t.adminKey}`,
          'content-type': 'multipart/form-data; boundary=hostileBoundary',
          'content-length': String(body.length),
        },
        body,
      });
      expect(refused.status).toBe(422);
      const next = await viaOneSocket({
        method: 'GET',
        path: `${TASKS}/scanners`,
        headers: { authorization: `APIKEY ${t.adminKey}` },
      });
      expect(next.status).toBe(200);
      expect(next.socket).toBe(refused.socket); // the same connection, kept alive and answering
    } finally {
      single.destroy();
    }
  });

  it('a multipart body without a usable boundary is a 400', async () => {
    for (const contentType of [
      'multipart/form-data',
      'multipart/form-data; boundary=',
      `multipart/form-data; boundary=${'b'.repeat(300)}`,
      'multipart/form-data; boundary=nothere',
    ]) {
      await expectEnvelope(
        {
          method: 'POST',
          path: `${TASKS}/completeTask`,
          headers: withAdmin({ 'content-type': contentType }),
          body: Buffer.from('garbage\r\n'),
        },
        400,
        MALFORMED_MULTIPART,
      );
    }
  });

  it('a config file part with an overlong Content-Type is stored as application/octet-stream', async () => {
    const appId = await givenApplication(t);
    const res = await send({
      method: 'POST',
      path: `${TASKS}/setTaskConfig`,
      headers: withAdmin({ 'content-type': 'multipart/form-data; boundary=cfg' }),
      body: multipartBody('cfg', [
        { name: 'appId', value: String(appId) },
        { name: 'scannerType', value: 'zap' },
        {
          name: 'file',
          value: 'cfg',
          filename: 'c.cfg',
          contentType: `application/${'x'.repeat(200)}`,
        },
      ]),
    });
    expect([res.status, envelopeOf(res).object]).toEqual([
      200,
      `Scan configuration for scanner: zap saved for appId: ${appId}`,
    ]);
    const [config] = await t.query<{ content_type: string }>(
      'SELECT content_type FROM scan_configs WHERE application_id = $1',
      [appId],
    );
    expect(config.content_type).toBe('application/octet-stream');
  });

  /**
   * Requests Node's HTTP parser refuses before Fastify routes them (a header over 16 KiB, a control
   * character in a header) are answered by Fastify's default clientErrorHandler, outside the
   * envelope. The fix is in src/app.ts (not editable here): see the report.
   */
  it('requests the HTTP parser refuses are answered in the envelope', async () => {
    const raw = (head: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(new URL(t.baseUrl).port), '127.0.0.1');
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('error', () => resolve(answer));
        socket.on('close', () => resolve(answer));
        socket.setTimeout(5000, () => socket.destroy());
        socket.write(head);
      });
    const parse = (answer: string) => {
      const [head, ...rest] = answer.split('\r\n\r\n');
      return {
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
        body: parseJson(rest.join('\r\n\r\n')),
      };
    };
    const tooLarge = parse(
      await raw(
        `GET /threadfix/rest/tasks/scanners HTTP/1.1\r\nHost: x\r\nAuthorization: APIKEY ${'k'.repeat(20_000)}\r\n\r\n`,
      ),
    );
    const control = parse(
      await raw(
        `GET /threadfix/rest/tasks/scanners HTTP/1.1\r\nHost: x\r\nAuthorization: APIKEY a\u0001b\r\n\r\n`,
      ),
    );
    expect([tooLarge, control]).toEqual([
      {
        status: 431,
        body: {
          message: 'The request headers are too large.',
          success: false,
          responseCode: -1,
          object: null,
        },
      },
      {
        status: 400,
        body: {
          message: 'The request is not valid HTTP.',
          success: false,
          responseCode: -1,
          object: null,
        },
      },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The fuzz
// ---------------------------------------------------------------------------------------------

async function buildWorld(): Promise<World> {
  const appId = await givenApplication(t, 'http://fuzz-target.example/');
  const appIds = [appId, await givenApplication(t), await givenApplication(t, null)];
  const sacrificialAppIds = [await givenApplication(t), await givenApplication(t)];
  const createKey = async (permissions: string[], restricted = false) => {
    const res = await t.postJson<{ apiKey: string; id: number }>(
      '/threadfix/rest/api-keys',
      t.adminKey,
      {
        name: `fuzz-${permissions.join('-')}-${Date.now()}-${Math.random()}`,
        permissions,
        restricted,
      },
    );
    if (res.status !== 200) throw new Error(`api key: ${res.body.message}`);
    return res.body.object;
  };
  const reader = await createKey(['READ_ACCESS']);
  const restricted = await createKey(['CAN_MANAGE_SCAN_AGENTS'], true);
  const revoked = await createKey(['CAN_MANAGE_SCAN_AGENTS']);
  await t.postForm(`/threadfix/rest/api-keys/${revoked.id}/revoke`, t.adminKey);
  const sacrificialApiKeyIds = [
    (await createKey(['READ_ACCESS'])).id,
    (await createKey(['READ_ACCESS'])).id,
  ];

  const tasks: ClaimedTask[] = [];
  for (let i = 0; i < 8; i++)
    tasks.push(await givenClaimedTask(t, 'zap', { timeoutSeconds: 86_400 }));
  const done = await givenClaimedTask(t);
  const completed = await completeTask(t, done, { name: 'z.xml', content: ZAP() });
  if (completed.status !== 200) throw new Error(`completeTask: ${completed.body.message}`);
  const [scan] = await t.query<{ id: number }>('SELECT id FROM scans WHERE task_id = $1', [
    done.taskId,
  ]);

  // ThreadFix's admin calls: two teams with an application each, two teams to delete, an upload.
  const threadFixTeam = async (name: string) => {
    const team = await t.postForm<{ id: number }>('/threadfix/rest/teams/new', t.adminKey, {
      name,
    });
    if (team.status !== 200) throw new Error(`team: ${team.body.message}`);
    const app = await t.postForm<{ id: number }>(
      `/threadfix/rest/teams/${team.body.object.id}/applications/new`,
      t.adminKey,
      { name: `${name} app`, url: 'http://team-app.example/' },
    );
    if (app.status !== 200) throw new Error(`team application: ${app.body.message}`);
    return { id: team.body.object.id, name, appId: app.body.object.id, appName: `${name} app` };
  };
  const teams = [
    await threadFixTeam(`fuzz team ${Date.now()}`),
    await threadFixTeam(`fuzz+team é ${Date.now()}`.replace('é', 'e')),
  ];
  const sacrificialTeams = [
    await threadFixTeam(`fuzz doomed 1 ${Date.now()}`),
    await threadFixTeam(`fuzz doomed 2 ${Date.now()}`),
  ];
  const uploaded = await t.postMultipart(
    `/threadfix/rest/applications/${teams[0].appId}/upload`,
    t.adminKey,
    {},
    { name: 'z.xml', content: ZAP() },
  );
  if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.body.message}`);
  const [upload] = await t.query<{ upload_id: number; id: number }>(
    'SELECT upload_id, id FROM scans WHERE application_id = $1 AND upload_id IS NOT NULL',
    [teams[0].appId],
  );

  // Two agents only the fuzz's revoke calls use.
  await givenAgentKey(t);
  await givenAgentKey(t);
  const agentRows = await t.query<{ id: number }>(
    'SELECT id FROM scan_agents ORDER BY id DESC LIMIT 2',
  );
  return {
    appId,
    appIds,
    sacrificialAppIds,
    sacrificialApiKeyIds,
    sacrificialAgentIds: agentRows.map((row) => row.id),
    tasks,
    agentKeys: [...new Set(tasks.map((task) => task.agentKey)), await givenAgentKey(t)],
    readerKey: reader.apiKey,
    restrictedKey: restricted.apiKey,
    revokedKey: revoked.apiKey,
    scan: { applicationId: done.applicationId, scanId: scan.id },
    teamIds: teams.map((team) => team.id),
    teamNames: teams.map((team) => team.name),
    teamAppIds: teams.map((team) => team.appId),
    teamAppNames: teams.map((team) => team.appName),
    sacrificialTeamIds: sacrificialTeams.map((team) => team.id),
    upload: { applicationId: teams[0].appId, uploadId: upload.upload_id, scanId: upload.id },
  };
}

describe('generated and mutated requests across every route', () => {
  let sent = 0;
  const statusCounts = new Map<number, number>();
  const routeCounts = new Map<string, number>();
  let deep200 = 0;

  it(`${FUZZ_RUNS} requests: always the envelope, never 5xx, always within ${REQUEST_TIMEOUT_MS} ms`, async () => {
    world = await buildWorld();
    console.log(
      `hostile-input fuzz: seed ${FUZZ_SEED}, ${FUZZ_RUNS} runs (replay with FUZZ_SEED=${FUZZ_SEED})`,
    );
    const generated = fc.sample(generatedArb, { numRuns: FUZZ_RUNS, seed: FUZZ_SEED });
    const problems: string[] = [];
    const parserLevel: string[] = [];
    let staleSocketRetries = 0;
    let next = 0;
    const worker = async () => {
      while (next < generated.length) {
        const index = next++;
        const item = generated[index];
        let resolved: Resolved;
        let label: string;
        if (item.kind === 'spec') {
          resolved = resolveSpec(item.spec, world);
          label = item.spec.route.name;
        } else {
          resolved = { request: item.make(world, undefined) };
          label = 'random path';
        }
        const { request } = resolved;
        routeCounts.set(label, (routeCounts.get(label) ?? 0) + 1);
        sent++;
        const describeRequest = () =>
          `#${index} ${label}: ${request.method} ${request.path.slice(0, 160)} ` +
          `[${request.headers['content-type'] ?? '-'}; auth ${(request.headers.authorization ?? '-').slice(0, 20)}; ` +
          `${request.body?.length ?? 0} B: ${request.body?.subarray(0, 120).toString('latin1') ?? ''}]`;
        let res: RawResponse;
        try {
          res = await send(request).catch((error: unknown) => {
            if (!isStaleSocket(error)) throw error;
            // Once more on a connection of its own: a stale keep-alive socket is not this request's fault.
            staleSocketRetries++;
            return send(request, REQUEST_TIMEOUT_MS, false);
          });
        } catch (error) {
          problems.push(`${describeRequest()} → ${(error as Error).message}`);
          continue;
        }
        statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
        if (process.env.FUZZ_VERBOSE)
          console.log(
            `${describeRequest().slice(0, 300)} → ${res.status} ${res.text.slice(0, 150)}`,
          );
        const problem = responseProblem(request, res);
        if (problem) {
          (isParserLevelAnswer(res) ? parserLevel : problems).push(
            `${describeRequest()} → ${problem}`,
          );
          continue;
        }
        if (
          item.kind === 'spec' &&
          res.status === 200 &&
          [
            'requestTask',
            'completeTask',
            'queueScan',
            'taskStatusUpdate',
            'failTask',
            'setTaskConfig',
          ].includes(label)
        )
          deep200++;
        // A task the fuzz claimed joins the pool, so later calls reach the deep paths on it.
        if (label === 'requestTask' && res.status === 200 && resolved.agentKey) {
          const body = parseJson(res.text) as { success?: boolean; object?: AgentTask } | undefined;
          if (body?.success && body.object)
            world.tasks.push({
              applicationId: 0,
              taskId: body.object.taskId,
              secureTaskKey: body.object.secureTaskKey,
              agentKey: resolved.agentKey,
            });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(
      `hostile-input fuzz: ${sent} requests; statuses ${JSON.stringify(Object.fromEntries([...statusCounts].sort((a, b) => a[0] - b[0])))}; ` +
        `routes ${JSON.stringify(Object.fromEntries(routeCounts))}; deep 200s ${deep200}; tasks in pool ${world.tasks.length}`,
    );
    console.log(
      `hostile-input fuzz: ${problems.length} bad answers, ${parserLevel.length} parser-level answers ` +
        `outside the envelope, ${staleSocketRetries} retries after a stale keep-alive socket`,
    );
    expect(problems.slice(0, 25)).toEqual([]);
    // Fails until src/app.ts answers HTTP parser errors in the envelope (see the named case).
    expect(parserLevel.slice(0, 5)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(Math.min(FUZZ_RUNS, 5000));
    // The fuzz reached past the refusals: real claims, updates and completions happened.
    expect(deep200).toBeGreaterThan(FUZZ_RUNS / 50);
    expect(t.output).not.toMatch(/ERROR/);
  }, 180_000);

  it('left the database and storage consistent', async () => {
    // Every task's status is a known one.
    const tasks = await t.query<{ id: number; status: number }>(
      'SELECT id, status FROM scan_queue_tasks ORDER BY id',
    );
    expect(tasks.length).toBeGreaterThan(20);
    expect(tasks.filter((task) => task.status < 1 || task.status > 7)).toEqual([]);

    // The transitions of each task form one path from (nothing) → QUEUED to its current status,
    // each status entered at most once.
    const transitions = await t.query<{
      task_id: number;
      from_status: number | null;
      to_status: number;
    }>(
      'SELECT task_id, from_status, to_status FROM scan_statuses WHERE to_status IS NOT NULL ORDER BY task_id, id',
    );
    const byTask = new Map<number, { from: number | null; to: number }[]>();
    for (const row of transitions) {
      const list = byTask.get(row.task_id) ?? [];
      list.push({ from: row.from_status, to: row.to_status });
      byTask.set(row.task_id, list);
    }
    const broken: string[] = [];
    for (const task of tasks) {
      const path = byTask.get(task.id) ?? [];
      const creations = path.filter((step) => step.from === null && step.to === 1).length;
      const entered = new Map<number, number>();
      for (const step of path) entered.set(step.to, (entered.get(step.to) ?? 0) + 1);
      const chained = path.every((step, i) =>
        i === 0 ? step.from === null : step.from === path[i - 1].to,
      );
      const last = path[path.length - 1]?.to;
      if (
        creations !== 1 ||
        !chained ||
        last !== task.status ||
        [...entered.values()].some((count) => count !== 1) ||
        (task.status !== 1 && task.status !== 4 && entered.get(2) !== 1)
      )
        broken.push(`task ${task.id} (status ${task.status}): ${JSON.stringify(path)}`);
    }
    expect(broken.slice(0, 10)).toEqual([]);
    // Every task ever claimed has exactly one claim row.
    const claims = await t.query<{ id: number; claims: number }>(
      `SELECT t.id, (SELECT count(*)::int FROM scan_statuses s WHERE s.task_id = t.id AND s.to_status = 2) AS claims
       FROM scan_queue_tasks t WHERE t.start_time IS NOT NULL`,
    );
    expect(claims.filter((row) => row.claims !== 1)).toEqual([]);

    // COMPLETE_SUCCESSFUL ⇔ a scans row.
    const mismatched = await t.query(
      `SELECT t.id, t.status, count(s.id)::int AS scans FROM scan_queue_tasks t LEFT JOIN scans s ON s.task_id = t.id
       GROUP BY t.id HAVING (t.status = 3) <> (count(s.id) = 1) OR count(s.id) > 1`,
    );
    expect(mismatched).toEqual([]);
    expect(
      (await t.query('SELECT id FROM scan_queue_tasks WHERE status = 3')).length,
    ).toBeGreaterThan(1);

    // Every direct upload has its one scan, its import and its 'queued' history row; every scan
    // comes from a task or an upload (scans_source_check holds it; this reads it back).
    expect(
      await t.query(
        `SELECT u.id FROM scan_uploads u
         LEFT JOIN scans s ON s.upload_id = u.id
         LEFT JOIN scan_imports i ON i.scan_id = s.id
         WHERE s.id IS NULL OR i.id IS NULL
            OR NOT EXISTS (SELECT 1 FROM scan_upload_history h WHERE h.upload_id = u.id AND h.phase = 'queued')`,
      ),
    ).toEqual([]);
    expect(
      (await t.query('SELECT id FROM scans WHERE upload_id IS NOT NULL')).length,
    ).toBeGreaterThan(1);

    // Every stored scan is its file, byte for byte.
    const scans = await t.query<{
      id: number;
      storage_key: string;
      size_bytes: string;
      sha256: string;
    }>('SELECT id, storage_key, size_bytes, sha256 FROM scans');
    const bad: string[] = [];
    for (const scan of scans) {
      const content = await readFile(path.join(t.dataDir, 'scans', scan.storage_key)).catch(
        () => undefined,
      );
      if (!content) bad.push(`scan ${scan.id}: no file ${scan.storage_key}`);
      else if (content.length !== Number(scan.size_bytes))
        bad.push(`scan ${scan.id}: ${content.length} bytes, recorded ${scan.size_bytes}`);
      else if (createHash('sha256').update(content).digest('hex') !== scan.sha256.trim())
        bad.push(`scan ${scan.id}: sha256 differs`);
    }
    expect(bad).toEqual([]);

    // No upload left half-written.
    expect(await waitForNoIncoming()).toEqual([]);
  });

  it('kept the server process alive and its memory bounded', async () => {
    await sampleRss();
    const { rss, hwm } = await memoryOf(t.pid);
    const peak = Math.max(rssPeak, hwm);
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `hostile-input memory: server RSS baseline ${mb(rssBaseline)}, now ${mb(rss)}, peak ${mb(peak)} ` +
        `(growth ${mb(peak - rssBaseline)}); suite ran ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`,
    );
    expect(peak - rssBaseline).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect((await send({ method: 'GET', path: '/threadfix/health', headers: {} })).status).toBe(
      200,
    );
  });
});

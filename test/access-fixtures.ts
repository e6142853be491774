/**
 * Factories for the least-privilege suites (roles, team scope, agent keys bound to their API key):
 * keys with given permissions and teams, teams, agents and claims made with a given API key, a
 * hand-written multipart upload whose key and field order a test chooses, and the server's RSS.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { AgentTask, queueScan, TASKS } from './support/agent-flow';
import { Envelope, TestServer } from './support/test-server';

export const R = '/threadfix/rest';
export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

let counter = 0;
export const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Date.now()}`;

export interface Key {
  id: number;
  key: string;
}

export async function givenKey(
  t: TestServer,
  permissions: string[],
  options: { restricted?: boolean; teamIds?: number[]; by?: string } = {},
): Promise<Key> {
  const res = await t.postJson<{ id: number; apiKey: string }>(
    `${R}/api-keys`,
    options.by ?? t.adminKey,
    {
      name: uniqueName('key'),
      permissions,
      restricted: options.restricted ?? false,
      ...(options.teamIds ? { teamIds: options.teamIds } : {}),
    },
  );
  if (res.status !== 200) throw new Error(`givenKey: ${res.status} ${res.body.message}`);
  return { id: res.body.object.id, key: res.body.object.apiKey };
}

/** A team of its own (scanqueue's team routes come with the ThreadFix admin API; SQL meanwhile). */
export async function givenTeam(t: TestServer): Promise<number> {
  const [row] = await t.query<{ id: number }>('INSERT INTO teams (name) VALUES ($1) RETURNING id', [
    uniqueName('team'),
  ]);
  return row.id;
}

export async function defaultTeam(t: TestServer): Promise<number> {
  const [row] = await t.query<{ id: number }>('SELECT id FROM teams WHERE is_default');
  return row.id;
}

/** An application in `teamId`, made by the admin. */
export async function givenAppInTeam(
  t: TestServer,
  teamId: number,
  url = 'http://target.example/app',
): Promise<number> {
  const res = await t.postJson<{ id: number }>(`${R}/applications`, t.adminKey, {
    name: uniqueName('app'),
    url,
    teamId,
  });
  if (res.status !== 200) throw new Error(`givenAppInTeam: ${res.status} ${res.body.message}`);
  return res.body.object.id;
}

export async function agentKeyOf(t: TestServer, apiKey: string): Promise<string> {
  const res = await t.get<string>(`${TASKS}/requestScanAgentKey`, apiKey);
  if (res.status !== 200) throw new Error(`agentKeyOf: ${res.status} ${res.body.message}`);
  return res.body.object;
}

export async function agentIdOf(t: TestServer, agentKey: string): Promise<number> {
  const [row] = await t.query<{ id: number }>('SELECT id FROM scan_agents WHERE key_hash = $1', [
    sha256(agentKey),
  ]);
  return row.id;
}

export interface Held {
  applicationId: number;
  taskId: number;
  apiKey: string;
  agentKey: string;
  secureTaskKey: string;
}

export const keyFields = (task: Held) => ({
  scanQueueTaskId: task.taskId,
  secureTaskKey: task.secureTaskKey,
  scanAgentSecureKey: task.agentKey,
});

/**
 * A task queued (by the admin) on `applicationId` and claimed by `agentKey` with `apiKey`, the key
 * that issued it. Older queued tasks of the scanner are claimed on the way (and left ASSIGNED).
 */
export async function claimedBy(
  t: TestServer,
  apiKey: string,
  agentKey: string,
  applicationId: number,
  scanner = 'zap',
): Promise<Held> {
  const queued = await queueScan(t, applicationId, scanner);
  for (;;) {
    const res = await t.postForm<AgentTask>(`${TASKS}/requestTask`, apiKey, {
      scanners: scanner,
      agentConfig: 'os.name=Linux',
      scanAgentSecureKey: agentKey,
    });
    if (res.status !== 200 || !res.body.success)
      throw new Error(`claimedBy: ${res.status} ${res.body.message}`);
    if (res.body.object.taskId === queued.id)
      return {
        applicationId,
        taskId: queued.id,
        apiKey,
        agentKey,
        secureTaskKey: res.body.object.secureTaskKey,
      };
  }
}

/** Resident set size of a process, in bytes (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error('no VmRSS');
  return Number(kb[1]) * 1024;
}

const BOUNDARY = 'scanqueueAccessUpload';

export interface RawPart {
  name: string;
  value?: string | number;
  /** A file part: its head is written, then its content as the test chooses. */
  file?: string;
}

export interface OpenUpload {
  /** Writes more of the body (the file's content once its part head is out). */
  write(chunk: string | Buffer): Promise<void>;
  /** Writes `parts` (fields after the file), closes the body and waits for the answer. */
  finish(after?: RawPart[]): Promise<{ status: number; body: Envelope }>;
  /** The answer whenever it comes (it may come before the body is finished). */
  response: Promise<{ status: number; body: Envelope }>;
  destroy(): void;
}

function partHead(part: RawPart): string {
  return part.file !== undefined
    ? `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.file}"\r\nContent-Type: application/xml\r\n\r\n`
    : `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${String(part.value)}\r\n`;
}

/**
 * A completeTask (or any multipart POST) written by hand: the fields in `before` (the last may be
 * the file's head), then whatever the test writes, then `finish`.
 */
export function openUpload(
  t: TestServer,
  apiKey: string,
  before: RawPart[],
  path = `${TASKS}/completeTask`,
): OpenUpload {
  const req = request(`${t.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `APIKEY ${apiKey}`,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
    },
  });
  const response = new Promise<{ status: number; body: Envelope }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Envelope });
        } catch {
          reject(new Error(`Not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  req.flushHeaders();
  const write = (chunk: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      req.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
  if (before.length > 0) req.write(before.map(partHead).join(''));
  let inFile = before.at(-1)?.file !== undefined;
  return {
    write,
    async finish(after = []) {
      let tail = inFile ? '\r\n' : '';
      inFile = false;
      tail += after.map(partHead).join('');
      req.end(`${tail}--${BOUNDARY}--\r\n`);
      return response;
    },
    response,
    destroy: () => req.destroy(),
  };
}

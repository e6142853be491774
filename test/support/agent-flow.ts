/** Small factories for protocol tests: applications, agents and tasks in a given state. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TestServer } from './test-server';

export const FIXTURES = path.resolve(__dirname, '../fixtures/scans');
export const fixture = (relative: string): Buffer => readFileSync(path.join(FIXTURES, relative));

export const TASKS = '/threadfix/rest/latest/tasks';

export interface ThreadFixTask {
  id: number;
  status: number;
  scanner: string;
  scanStatuses: { id: number; active: boolean; message: string; timestamp: number }[];
  [field: string]: unknown;
}

export interface AgentTask {
  taskId: number;
  taskType: string;
  taskConfig: {
    targetUrl: string;
    targetUrlString: string;
    dataBlobs: { configFile?: string };
    configParams: object;
  };
  secureTaskKey: string;
  secureScanAgentInstanceKey: string;
}

let counter = 0;

export async function givenApplication(
  t: TestServer,
  url: string | null = 'http://target.example/app',
): Promise<number> {
  const res = await t.postJson<{ id: number }>('/threadfix/rest/applications', t.adminKey, {
    name: `app-${process.pid}-${++counter}-${Date.now()}`,
    ...(url ? { url } : {}),
  });
  if (res.status !== 200) throw new Error(`givenApplication: ${res.status} ${res.body.message}`);
  return res.body.object.id;
}

export async function givenAgentKey(t: TestServer): Promise<string> {
  const res = await t.get<string>(`${TASKS}/requestScanAgentKey`, t.adminKey);
  if (res.status !== 200) throw new Error(`givenAgentKey: ${res.status} ${res.body.message}`);
  return res.body.object;
}

export async function queueScan(
  t: TestServer,
  applicationId: number,
  scannerType: string,
  extra: Record<string, string | number> = {},
): Promise<ThreadFixTask> {
  const res = await t.postForm<ThreadFixTask>(`${TASKS}/queueScan`, t.adminKey, {
    applicationId,
    scannerType,
    ...extra,
  });
  if (res.status !== 200) throw new Error(`queueScan: ${res.status} ${res.body.message}`);
  return res.body.object;
}

export function requestTask(t: TestServer, agentKey: string, scanners: string) {
  return t.postForm<AgentTask>(`${TASKS}/requestTask`, t.adminKey, {
    scanners,
    agentConfig: 'os.name=Linux',
    scanAgentSecureKey: agentKey,
  });
}

export interface ClaimedTask {
  applicationId: number;
  taskId: number;
  agentKey: string;
  secureTaskKey: string;
}

/** A task of its own scanner-free queue position: queued on a fresh app and claimed by a fresh agent. */
export async function givenClaimedTask(
  t: TestServer,
  scanner = 'zap',
  extra: Record<string, string | number> = {},
): Promise<ClaimedTask> {
  const applicationId = await givenApplication(t);
  const queued = await queueScan(t, applicationId, scanner, extra);
  const agentKey = await givenAgentKey(t);
  // Claim until we get ours: other tests' tasks of the same scanner may be ahead in FIFO order.
  for (;;) {
    const res = await requestTask(t, agentKey, scanner);
    if (res.status !== 200 || !res.body.success)
      throw new Error(`givenClaimedTask: ${res.status} ${res.body.message}`);
    if (res.body.object.taskId === queued.id) {
      return {
        applicationId,
        taskId: queued.id,
        agentKey,
        secureTaskKey: res.body.object.secureTaskKey,
      };
    }
  }
}

export function keysOf(task: ClaimedTask) {
  return {
    scanQueueTaskId: task.taskId,
    secureTaskKey: task.secureTaskKey,
    scanAgentSecureKey: task.agentKey,
  };
}

export function completeTask(
  t: TestServer,
  task: ClaimedTask,
  file: { name: string; content: Buffer | string } | undefined,
  fields = keysOf(task),
) {
  return t.postMultipart<ThreadFixTask>(`${TASKS}/completeTask`, t.adminKey, fields, file);
}

export async function taskStatus(t: TestServer, taskId: number): Promise<number> {
  const [row] = await t.query<{ status: number }>(
    'SELECT status FROM scan_queue_tasks WHERE id = $1',
    [taskId],
  );
  return row.status;
}

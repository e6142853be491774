/**
 * @scanqueue/wire: the shapes that cross the wire between scanqueue and a scan agent (ThreadFix's
 * Tasks API), as types only. The server and the reference agent both compile against them and
 * share nothing else, so neither needs the other, or this package, at run time.
 *
 * Literal types pin the strings both sides must agree on (scanner names, "No task found.", status
 * names): each side keeps its own value, checked against the type with `satisfies`.
 */

/** ThreadFix's RestResponse, around every answer of the REST API (and of NATS request/reply). */
export interface ThreadFixEnvelope<T> {
  /** Empty on success; ThreadFix's text on a failure. */
  message: string;
  success: boolean;
  /** -1 over HTTP, as in ThreadFix (the status is the HTTP one); the HTTP status over NATS. */
  responseCode: number;
  object: T | null;
}

/** The Tasks API calls an agent makes, under `<server>/rest/<version>/tasks/`. */
export type TaskOperation =
  'requestScanAgentKey' | 'requestTask' | 'taskStatusUpdate' | 'failTask' | 'completeTask';

/** requestTask's form. */
export type RequestTaskForm = {
  /** Scanner names, comma-separated (display names, short names or older names). */
  scanners: string;
  /** Free text about the agent (`key=value` lines), shown to admins in the task's assignment. */
  agentConfig: string;
  /** The agent key from requestScanAgentKey. */
  scanAgentSecureKey: string;
};

/** The keys that name a claimed task in taskStatusUpdate, failTask and completeTask. */
export type TaskKeysForm = {
  scanQueueTaskId: number;
  scanAgentSecureKey: string;
  secureTaskKey: string;
};

/** taskStatusUpdate's and failTask's form. */
export type TaskMessageForm = TaskKeysForm & { message: string };

/** requestTask's `message` (with success false, HTTP 200) when the queue has no task for the agent. */
export type NoTaskMessage = 'No task found.';

/** What a task's config gives the agent. */
export interface AgentTaskConfig {
  /** The URL to scan (the task's, or its application's). */
  targetUrl: string;
  /** The same URL (ThreadFix sent both). */
  targetUrlString: string;
  /** `configFile`: the scanner config uploaded for the application (setTaskConfig), base64. */
  dataBlobs: { configFile?: string };
  /** Always empty (ThreadFix's field, kept for its agents). */
  configParams: Record<string, string>;
}

/** requestTask's `object`: the task an agent has just claimed. */
export interface AgentTask {
  taskId: number;
  /** The scanner's display name, e.g. `OWASP Zed Attack Proxy`. */
  taskType: string;
  taskConfig: AgentTaskConfig;
  /** Names the task in every later call; keep it secret. */
  secureTaskKey: string;
  /** The agent key the claim was made with, echoed. */
  secureScanAgentInstanceKey: string;
}

/**
 * The scan-agent scanners by short name: ThreadFix's display name (what a task's `taskType`
 * carries) and older names clients may still send. Names are matched case-insensitively.
 */
export interface ScanAgentScanners {
  acunetix: { displayName: 'Acunetix WVS'; aliases: readonly [] };
  spider: { displayName: 'AppSpider'; aliases: readonly ['NTO Spider', 'appspider'] };
  burp: { displayName: 'Burp Suite Pro'; aliases: readonly ['Burp Suite'] };
  appscan: {
    displayName: 'IBM Security AppScan Standard';
    aliases: readonly ['IBM Rational AppScan'];
  };
  zap: { displayName: 'OWASP Zed Attack Proxy'; aliases: readonly ['ZAP', 'OWASP ZAP'] };
  webinspect: { displayName: 'WebInspect'; aliases: readonly [] };
}

export type ScannerShortName = keyof ScanAgentScanners;

/** One entry of a list of scanners, its names exactly the ones above. */
export type ScanAgentScanner = {
  [K in ScannerShortName]: { readonly shortName: K } & Readonly<ScanAgentScanners[K]>;
}[ScannerShortName];

/**
 * ThreadFix's ScanQueueTaskStatus by number: a task JSON's `status` is the number, `statusString`
 * the name and `taskStatus` the name after `STATUS_`.
 */
export interface TaskStatusNames {
  1: 'QUEUED';
  2: 'ASSIGNED';
  3: 'COMPLETE_SUCCESSFUL';
  4: 'COMPLETE_DELETED';
  5: 'COMPLETE_TIMEDOUT';
  6: 'COMPLETE_FAILED';
  7: 'UNKNOWN';
}

export type TaskStatusName = TaskStatusNames[keyof TaskStatusNames];

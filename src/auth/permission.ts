/**
 * What an API key may do. Names follow ThreadFix's Permission enum where it has one
 * (CAN_MANAGE_SCAN_AGENTS, CAN_MANAGE_APPLICATIONS, CAN_MANAGE_TEAMS, CAN_UPLOAD_SCANS,
 * CAN_MANAGE_API_KEYS, READ_ACCESS); CAN_RUN_SCAN_AGENT and CAN_MANAGE_SCAN_QUEUE are scanqueue's
 * own, so that an agent's key can run the agent protocol and nothing else (docs/security.md).
 */
export enum Permission {
  /** The agent protocol only, on the agent's own tasks: what an agent's key should hold. */
  CAN_RUN_SCAN_AGENT = 'CAN_RUN_SCAN_AGENT',
  /** ThreadFix's meaning: the agent protocol plus queueScan and setTaskConfig. */
  CAN_MANAGE_SCAN_AGENTS = 'CAN_MANAGE_SCAN_AGENTS',
  /** Administers the queue: cancel, task and agent lists and details, agent revocation. */
  CAN_MANAGE_SCAN_QUEUE = 'CAN_MANAGE_SCAN_QUEUE',
  CAN_MANAGE_APPLICATIONS = 'CAN_MANAGE_APPLICATIONS',
  CAN_MANAGE_TEAMS = 'CAN_MANAGE_TEAMS',
  /** Direct scan upload (no agent) and its pending-scan status. */
  CAN_UPLOAD_SCANS = 'CAN_UPLOAD_SCANS',
  CAN_MANAGE_API_KEYS = 'CAN_MANAGE_API_KEYS',
  /** Reads applications, teams, scans, findings and scan files. */
  READ_ACCESS = 'READ_ACCESS',
}

export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);

/** ThreadFix's UI labels (scanqueue's own for its two), used in error messages. */
export const PERMISSION_LABELS: Record<Permission, string> = {
  [Permission.CAN_RUN_SCAN_AGENT]: 'Run Scan Agent',
  [Permission.CAN_MANAGE_SCAN_AGENTS]: 'Manage Scan Agents',
  [Permission.CAN_MANAGE_SCAN_QUEUE]: 'Manage Scan Queue',
  [Permission.CAN_MANAGE_APPLICATIONS]: 'Manage Applications',
  [Permission.CAN_MANAGE_TEAMS]: 'Manage Teams',
  [Permission.CAN_UPLOAD_SCANS]: 'Upload Scans',
  [Permission.CAN_MANAGE_API_KEYS]: 'Manage API Keys',
  [Permission.READ_ACCESS]: 'Read Access',
};

/** Who may call an operation: any one of `anyOf`; `restricted`: refused to restricted keys. */
export interface AccessRule {
  readonly anyOf: readonly Permission[];
  readonly restricted: boolean;
}

const {
  CAN_RUN_SCAN_AGENT,
  CAN_MANAGE_SCAN_AGENTS,
  CAN_MANAGE_SCAN_QUEUE,
  CAN_MANAGE_APPLICATIONS,
  CAN_MANAGE_TEAMS,
  CAN_UPLOAD_SCANS,
  CAN_MANAGE_API_KEYS,
  READ_ACCESS,
} = Permission;

/**
 * The roles table (docs/security.md): every REST route and NATS pattern declares one of these, so
 * the two transports cannot drift apart. Read views stay open to every permission that could read
 * them before the roles were split (the migration gave CAN_MANAGE_SCAN_AGENTS holders
 * CAN_MANAGE_SCAN_QUEUE and READ_ACCESS); every operation that changes something is refused to
 * restricted keys.
 */
export const ACCESS = {
  /** requestScanAgentKey, requestTask, taskStatusUpdate, completeTask, failTask. */
  agentProtocol: { anyOf: [CAN_RUN_SCAN_AGENT, CAN_MANAGE_SCAN_AGENTS], restricted: true },
  /** GET tasks/scanners: read-only. */
  scanners: {
    anyOf: [CAN_RUN_SCAN_AGENT, CAN_MANAGE_SCAN_AGENTS, READ_ACCESS],
    restricted: false,
  },
  /** queueScan and setTaskConfig: ThreadFix's meaning of Manage Scan Agents; never an agent's key. */
  queueing: { anyOf: [CAN_MANAGE_SCAN_AGENTS], restricted: true },
  /** Task and agent lists and details, a task's status history. */
  queueRead: { anyOf: [CAN_MANAGE_SCAN_QUEUE, READ_ACCESS], restricted: false },
  /**
   * Cancel a task; revoke, pause and resume an agent; pause and resume a scanner's queue (every
   * team's: only for a key not limited to teams, scanner-queues.service.ts).
   */
  queueAdmin: { anyOf: [CAN_MANAGE_SCAN_QUEUE], restricted: true },
  /** ThreadFix's team calls (docs/threadfix-compatibility.md): a team, the list, a lookup. */
  teamRead: { anyOf: [READ_ACCESS], restricted: false },
  /** Create, rename, delete a team. */
  teamWrite: { anyOf: [CAN_MANAGE_TEAMS], restricted: true },
  /** scanqueue's and ThreadFix's application reads (by id, list, lookup by team and name). */
  applicationRead: { anyOf: [READ_ACCESS, CAN_MANAGE_APPLICATIONS], restricted: false },
  /** scanqueue's and ThreadFix's application writes (create, in a team too; update; deactivate). */
  applicationWrite: { anyOf: [CAN_MANAGE_APPLICATIONS], restricted: true },
  /**
   * Scans (scanqueue's list and ThreadFix's details), scan files, findings, vulnerabilities,
   * imports. Application managers keep reading them (they could before, and the migration gave
   * them no READ_ACCESS: that would have opened the task and agent views to them too).
   */
  scanRead: { anyOf: [READ_ACCESS, CAN_MANAGE_APPLICATIONS], restricted: false },
  /**
   * ThreadFix's scan download: scanRead's, and the uploader's (ThreadFix's UI asked for Upload
   * Scans); the same bytes are scanqueue's …/scans/{scanId}/file under scanRead.
   */
  scanDownload: {
    anyOf: [READ_ACCESS, CAN_MANAGE_APPLICATIONS, CAN_UPLOAD_SCANS],
    restricted: false,
  },
  /**
   * ThreadFix's direct scan upload (no agent). Restricted keys are refused, though ThreadFix did
   * not refuse them: it changes something, like every other write here.
   */
  scanUpload: { anyOf: [CAN_UPLOAD_SCANS], restricted: true },
  /** A direct upload's pending-scan status: the uploader polls it; a reader may too. */
  pendingScan: { anyOf: [CAN_UPLOAD_SCANS, READ_ACCESS], restricted: false },
  /** An application's scan configs (metadata only): also who uploads them, to learn their ids. */
  scanConfigRead: {
    anyOf: [READ_ACCESS, CAN_MANAGE_SCAN_AGENTS, CAN_MANAGE_APPLICATIONS],
    restricted: false,
  },
  apiKeys: { anyOf: [CAN_MANAGE_API_KEYS], restricted: true },
  /** An application's scheduled scans: who reads the application (spec §7). */
  scheduleRead: { anyOf: [READ_ACCESS, CAN_MANAGE_APPLICATIONS], restricted: false },
  /** Create, change, delete, enable, disable a schedule: ThreadFix's CAN_MANAGE_APPLICATIONS. */
  scheduleWrite: { anyOf: [CAN_MANAGE_APPLICATIONS], restricted: true },
} as const satisfies Record<string, AccessRule>;

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

/** What an API key may do. Names follow ThreadFix's Permission enum where it has one. */
export enum Permission {
  CAN_MANAGE_SCAN_AGENTS = 'CAN_MANAGE_SCAN_AGENTS',
  CAN_MANAGE_APPLICATIONS = 'CAN_MANAGE_APPLICATIONS',
  CAN_MANAGE_API_KEYS = 'CAN_MANAGE_API_KEYS',
  READ_ACCESS = 'READ_ACCESS',
}

export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);

/** ThreadFix's UI labels, used in error messages. */
export const PERMISSION_LABELS: Record<Permission, string> = {
  [Permission.CAN_MANAGE_SCAN_AGENTS]: 'Manage Scan Agents',
  [Permission.CAN_MANAGE_APPLICATIONS]: 'Manage Applications',
  [Permission.CAN_MANAGE_API_KEYS]: 'Manage API Keys',
  [Permission.READ_ACCESS]: 'Read Access',
};

/** ThreadFix's ScanQueueTaskStatus: ints and names are part of the wire contract. */
export enum TaskStatus {
  QUEUED = 1,
  ASSIGNED = 2,
  COMPLETE_SUCCESSFUL = 3,
  COMPLETE_DELETED = 4,
  COMPLETE_TIMEDOUT = 5,
  COMPLETE_FAILED = 6,
  UNKNOWN = 7,
}

export function statusString(status: TaskStatus): string {
  return TaskStatus[status] ?? 'UNKNOWN';
}

/** The `taskStatus` field: ThreadFix's enum constant name. */
export function taskStatusConstant(status: TaskStatus): string {
  return `STATUS_${statusString(status)}`;
}

export const TERMINAL_STATUSES: readonly TaskStatus[] = [
  TaskStatus.COMPLETE_SUCCESSFUL,
  TaskStatus.COMPLETE_DELETED,
  TaskStatus.COMPLETE_TIMEDOUT,
  TaskStatus.COMPLETE_FAILED,
];

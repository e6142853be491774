/**
 * The task state machine as data: which status may move to which. Pure: the guarded SQL
 * (task-transitions.repository.ts) takes its status lists from here.
 */
import { TaskStatus } from './task-status';

const {
  QUEUED,
  ASSIGNED,
  COMPLETE_SUCCESSFUL,
  COMPLETE_DELETED,
  COMPLETE_TIMEDOUT,
  COMPLETE_FAILED,
  UNKNOWN,
} = TaskStatus;

/** From → the statuses it may move to. Terminal statuses are final. */
export const ALLOWED_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  // A QUEUED task times out when QUEUED_TASK_EXPIRY_SECONDS passes without a claim.
  [QUEUED]: [ASSIGNED, COMPLETE_DELETED, COMPLETE_TIMEDOUT],
  [ASSIGNED]: [COMPLETE_SUCCESSFUL, COMPLETE_FAILED, COMPLETE_TIMEDOUT, COMPLETE_DELETED],
  [COMPLETE_SUCCESSFUL]: [],
  [COMPLETE_DELETED]: [],
  [COMPLETE_TIMEDOUT]: [],
  [COMPLETE_FAILED]: [],
  [UNKNOWN]: [],
};

const ALL_STATUSES = Object.keys(ALLOWED_TRANSITIONS).map((from) => Number(from) as TaskStatus);

/** The statuses a task may move to `to` from. */
export function sourcesOf(to: TaskStatus): TaskStatus[] {
  return ALL_STATUSES.filter((from) => ALLOWED_TRANSITIONS[from].includes(to));
}

/** Statuses no move leads out of (UNKNOWN included: ThreadFix's placeholder, never entered). */
export function isFinal(status: TaskStatus): boolean {
  return ALLOWED_TRANSITIONS[status].length === 0;
}

/** The task protocol's failures, with ThreadFix's message text where it had one. */
import {
  BadRestParameter,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  RestError,
  StateConflict,
  TooManyRequests,
} from '../rest/rest-error';
import { TaskRow } from './task-rows';
import { TaskStatus } from './task-status';

export class TaskNotFound extends NotFound {
  constructor(id: number) {
    super(`No ScanQueueTask found with id ${id}.`);
  }
}

/** 413: a status message over STATUS_MESSAGE_MAX_CHARS. */
export class StatusMessageTooLong extends PayloadTooLarge {
  constructor(length: number, max: number) {
    super(`The status message is ${length} characters long; at most ${max} are accepted.`);
  }
}

/**
 * 429, not 409: the task goes on and the agent may finish it; only its progress messages stop
 * (ThreadFix-style agents, and scanqueue-agent, keep scanning on a 429 but stop on a 409).
 */
export class TooManyStatusMessages extends TooManyRequests {
  constructor(id: number, max: number) {
    super(
      `ScanQueueTask ${id} already has ${max} status messages, the most it accepts; complete or fail it.`,
    );
  }
}

export class MissingTaskKey extends BadRestParameter {
  constructor() {
    super('No secure task key found error.');
  }
}

export class TaskKeyMismatch extends Forbidden {
  constructor() {
    super('Secure task key was not recognized.');
  }
}

/** "No task found." is a normal answer to a poll, so it keeps ThreadFix's HTTP 200 with success:false. */
export class NoTaskFound extends RestError {
  readonly httpStatus = 200;
  constructor() {
    // An idle fleet's most frequent answer, never logged: no stack trace to capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('No task found.');
    Error.stackTraceLimit = limit;
  }
}

/** The state forbids the call; the message tells the agent why (cancelled, timed out, …). */
export class TaskStateConflict extends StateConflict {
  constructor(task: TaskRow) {
    super(TaskStateConflict.describe(task));
  }

  static describe(task: TaskRow): string {
    const id = task.id;
    switch (task.status) {
      case TaskStatus.QUEUED:
        return `ScanQueueTask ${id} has not been assigned to an agent.`;
      case TaskStatus.COMPLETE_DELETED:
        return `ScanQueueTask ${id} was cancelled by an administrator.`;
      case TaskStatus.COMPLETE_TIMEDOUT:
        // Taken back before its timeout: its agent was silent (TASK_SILENCE_SECONDS).
        if (task.end_time && task.timeout_time && task.end_time < task.timeout_time)
          return `ScanQueueTask ${id} was taken back at ${task.end_time.toISOString()}: no call from its agent since ${task.last_heard_at?.toISOString() ?? 'the claim'}; its result is no longer accepted.`;
        return `ScanQueueTask ${id} timed out at ${task.timeout_time?.toISOString() ?? 'its timeout'}; its result is no longer accepted.`;
      case TaskStatus.COMPLETE_SUCCESSFUL:
        return `ScanQueueTask ${id} has already completed successfully.`;
      case TaskStatus.COMPLETE_FAILED:
        return `ScanQueueTask ${id} has already failed.`;
      default:
        return `ScanQueueTask ${id} is in state ${task.status}.`;
    }
  }
}

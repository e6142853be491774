/**
 * The reaper's transitions (task-reaper.service.ts), each a guarded statement like those of
 * task-transitions.repository.ts: overdue and silent ASSIGNED tasks time out and are retried under
 * their policy (task-retries.repository.ts); QUEUED tasks never claimed expire and are not. Safe on
 * every instance at once: SKIP LOCKED splits the work, and the status guard stops a task being
 * ended twice. The FOR UPDATE re-checks a row's condition when it waited for the row (an agent's
 * call that refreshed last_heard_at first keeps its task).
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { HISTORY_COLUMNS, taskOutboxInsert } from './task-outbox.repository';
import { retryCtes, utcSql } from './task-retries.repository';
import { TaskStatus } from './task-status';

const { QUEUED, ASSIGNED, COMPLETE_TIMEDOUT } = TaskStatus;

/** A task the reaper ended, and its retry's id (null: none). */
export interface ReapedTask {
  id: number;
  scanner: string;
  retry_id: number | null;
}

const timedOutMessage = (t: string) =>
  `'Task timed out: no result by ' || ${utcSql(`${t}.timeout_time`)}`;
const silentMessage = (t: string) =>
  `'Task timed out: its agent was silent since ' || ${utcSql(`${t}.last_heard_at`)} || ' (TASK_SILENCE_SECONDS ' || $2::int || ')'`;
const neverClaimedMessage = (t: string) =>
  `'Task timed out: never claimed, queued since ' || ${utcSql(`coalesce(${t}.not_before, ${t}.created_at)`)} || ' (QUEUED_TASK_EXPIRY_SECONDS ' || $2::int || ')'`;

/**
 * One reaper statement: up to $1 tasks of status `from` matching `due` (in `order`, the index's)
 * move to COMPLETE_TIMEDOUT with `message(alias)`, and with `retryReason` their retries are queued.
 */
function reapSql(spec: {
  from: TaskStatus;
  due: string;
  order: string;
  message: (t: string) => string;
  retryReason?: string;
}): string {
  return `WITH due AS (
       SELECT id FROM scan_queue_tasks
       WHERE status = ${spec.from} AND ${spec.due}
       ORDER BY ${spec.order}
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     ), moved AS (
       UPDATE scan_queue_tasks t SET status = ${COMPLETE_TIMEDOUT}, end_time = now()
       FROM due WHERE t.id = due.id AND t.status = ${spec.from}
       RETURNING t.*
     ), history AS (
       INSERT INTO scan_statuses (${HISTORY_COLUMNS})
       SELECT id, ${spec.message('moved')}, ${spec.from}, ${COMPLETE_TIMEDOUT}, 'system', NULL FROM moved
       RETURNING id
     ), outbox AS (
       ${taskOutboxInsert('task.timedout', 'moved', spec.message('t'))}
     )${spec.retryReason ? retryCtes('moved', spec.retryReason) : ''}
     SELECT m.id, m.scanner, ${spec.retryReason ? 'r.id' : 'NULL::int'} AS retry_id FROM moved m
     ${spec.retryReason ? 'LEFT JOIN retry r ON r.retry_of_task_id = m.id' : ''}`;
}

@Injectable()
export class TaskReaperRepository {
  /**
   * ASSIGNED → COMPLETE_TIMEDOUT for up to `limit` overdue tasks, retried under their policy.
   * Served by scan_queue_tasks_overdue_idx (timeout_time) WHERE status = 2.
   */
  timeOutOverdueTasks(tx: EntityManager, limit: number): Promise<ReapedTask[]> {
    return tx.query(
      reapSql({
        from: ASSIGNED,
        due: 'timeout_time < now()',
        order: 'timeout_time',
        message: timedOutMessage,
        retryReason: `'timed out'`,
      }),
      [limit],
    );
  }

  /**
   * ASSIGNED → COMPLETE_TIMEDOUT for up to `limit` tasks whose agent made no call about them for
   * `silenceSeconds` (its answer was lost, or it died), retried under their policy. Served by
   * scan_queue_tasks_silence_idx (last_heard_at) WHERE status = 2.
   */
  takeBackSilentTasks(
    tx: EntityManager,
    limit: number,
    silenceSeconds: number,
  ): Promise<ReapedTask[]> {
    return tx.query(
      reapSql({
        from: ASSIGNED,
        due: 'last_heard_at < now() - make_interval(secs => $2::int)',
        order: 'last_heard_at',
        message: silentMessage,
        retryReason: `'was taken back from its silent agent'`,
      }),
      [limit, silenceSeconds],
    );
  }

  /**
   * QUEUED → COMPLETE_TIMEDOUT for up to `limit` tasks not claimed within `expirySeconds` of their
   * queueing (a retry: of its not_before); never retried. Served by scan_queue_tasks_expiry_idx
   * (coalesce(not_before, created_at)) WHERE status = 1.
   */
  expireQueuedTasks(
    tx: EntityManager,
    limit: number,
    expirySeconds: number,
  ): Promise<ReapedTask[]> {
    return tx.query(
      reapSql({
        from: QUEUED,
        due: 'coalesce(not_before, created_at) < now() - make_interval(secs => $2::int)',
        order: 'coalesce(not_before, created_at)',
        message: neverClaimedMessage,
      }),
      [limit, expirySeconds],
    );
  }
}

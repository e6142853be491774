/**
 * Automatic retries as SQL: the CTEs a transition statement appends to queue the next attempt of
 * each task it ended (failed by its agent, timed out, taken back from a silent agent) while the
 * task's retry policy has attempts left, in the same statement as the transition, with a history
 * row on both tasks and the new task's `task.queued` event. A cancelled or completed task is never
 * retried: only those statements append these CTEs.
 */
import { RETRY_BOUNDS } from './retry-policy';
import { HISTORY_COLUMNS, taskOutboxInsert } from './task-outbox.repository';
import { TaskStatus } from './task-status';

/** `timestamptz` column → '2026-11-30T16:00:00Z'. */
export const utcSql = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/**
 * The delay before attempt + 1: retry_delay_seconds, doubled per attempt with backoff, capped at
 * a day, then ±20 % jitter (so retries of tasks that failed together spread out).
 */
const delaySql = (t: string) =>
  `least(${t}.retry_delay_seconds * CASE WHEN ${t}.retry_backoff THEN power(2, ${t}.attempt - 1) ELSE 1 END,
         ${RETRY_BOUNDS.delaySeconds}) * (0.8 + 0.4 * random())`;

const attemptOfSql = (t: string) => `${t}.attempt || ' of ' || (${t}.retry_limit + 1)`;

/** The new task's history message; `reason` an SQL text expression ("failed on its agent"). */
const retryingMessageSql = (t: string, reason: string) =>
  `'Attempt ' || ${attemptOfSql(t)} || ', retrying task ' || ${t}.retry_of_task_id || ' which ' || ${reason}`;

/**
 * `, retry AS (…), …`: to follow the statement's other CTEs. `ended` is the CTE of the tasks
 * just ended (scan_queue_tasks' columns after the change); `reason` says how (SQL text). The
 * retry is queued only when its application is still active (as queueScan requires). `history`
 * is the CTE of the transition's history rows (with RETURNING): the retry's note comes after them.
 * The caller reads `retry` (retry_of_task_id → id) for its answer.
 */
export function retryCtes(ended: string, reason: string, history = 'history'): string {
  return `, retry AS (
       INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds, target_url, scan_config_id,
                                     queued_by_api_key_id, priority, attempt, retry_limit, retry_delay_seconds,
                                     retry_backoff, retry_of_task_id, not_before)
       SELECT e.application_id, e.scanner, ${TaskStatus.QUEUED}, e.timeout_seconds, e.target_url, e.scan_config_id,
              e.queued_by_api_key_id, e.priority, e.attempt + 1, e.retry_limit, e.retry_delay_seconds,
              e.retry_backoff, e.id, now() + make_interval(secs => ${delaySql('e')})
       FROM ${ended} e JOIN applications a ON a.id = e.application_id AND a.active
       WHERE e.attempt <= e.retry_limit
       RETURNING *
     ), retry_history AS (
       INSERT INTO scan_statuses (${HISTORY_COLUMNS})
       SELECT r.retry_of_task_id,
              'Retrying as task ' || r.id || ' (attempt ' || ${attemptOfSql('r')} || ') not before ' || ${utcSql('r.not_before')},
              NULL::smallint, NULL::smallint, 'system', NULL::int
       -- Reading the transition's history first gives its rows the lower ids (the order shown).
       FROM retry r CROSS JOIN (SELECT count(*) FROM ${history}) AS transition_first
       UNION ALL
       SELECT r.id, ${retryingMessageSql('r', reason)}, NULL, ${TaskStatus.QUEUED}::smallint, 'system', NULL FROM retry r
     ), retry_outbox AS (
       ${taskOutboxInsert('task.queued', 'retry', retryingMessageSql('t', reason))}
     )`;
}

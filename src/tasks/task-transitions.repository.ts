/**
 * The only SQL that writes `scan_queue_tasks.status` (the state table is task-state.ts). Every
 * statement is guarded by the current status in its WHERE clause and appends the status-history
 * row and the outbox event (events/outbox.repository.ts) in the same statement, so a transition, its
 * history row and its event commit or roll back together, no change goes without its event, and
 * two racing callers cannot both win.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { queryPrepared } from '../sql/prepared-statements';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { applicationInScopeSql } from '../auth/team-scope.repository';
import { agentPausedSql, agentUsableSql } from '../scan-agents/scan-agents.repository';
import { openScannersSql } from '../scan-agents/scanner-queues.repository';
import { StatusActorType } from './scan-status.entity';
import { eventOfStatus } from './task-events';
import { HISTORY_COLUMNS, taskOutboxInsert, writtenStatusRow } from './task-outbox.repository';
import { retryCtes } from './task-retries.repository';
import { StatusRow, TaskRow } from './task-rows';
import { sourcesOf } from './task-state';
import { TaskStatus } from './task-status';
import type { RetryPolicy } from './retry-policy';

const { QUEUED, ASSIGNED, COMPLETE_SUCCESSFUL } = TaskStatus;

export { taskOutboxInsert } from './task-outbox.repository';

export interface Actor {
  type: StatusActorType;
  id: number | null;
}

export interface NewTask {
  applicationId: number;
  scanner: string;
  timeoutSeconds: number;
  targetUrl: string | null;
  scanConfigId: number | null;
  priority: number;
  retry: RetryPolicy;
}

export interface Claim {
  /** The API key presenting the agent key: it must be the one that issued it. */
  apiKeyId: number;
  /** The presenting key's teams: only their applications' tasks are handed out. */
  scope: TeamScope;
  /** The agent's scanners: display names (what tasks store) and short names (what configs use). */
  scanners: readonly { displayName: string; shortName: string }[];
  agentKeyHash: string;
  secureKeyHash: string;
  agentInfo: string | null;
  message: string;
}

/** What a claim answers of its task: the agent's Task payload's, the pickup metric's. */
export type ClaimedTask = Pick<
  TaskRow,
  'id' | 'scanner' | 'target_url' | 'created_at' | 'start_time'
>;

export interface ClaimResult {
  /** The agent the key belongs to; null when the key is unknown or revoked (nothing was claimed). */
  agentId: number | null;
  /** The agent is paused: it claimed nothing, whatever is queued. */
  agentPaused: boolean;
  task?: ClaimedTask;
  applicationUrl: string | null;
  /** The config file the agent gets: the task's own, else the application's for the scanner. */
  configFile: Buffer | null;
}

export interface AgentStatusMessage {
  taskId: number;
  message: string;
  /** SHA-256 (hex) of the agent key and of the task key the caller presented. */
  agentKeyHash: string;
  taskKeyHash: string;
  /** The API key presenting the agent key, and its teams. */
  apiKeyId: number;
  scope: TeamScope;
  /** STATUS_MESSAGES_PER_TASK: a task that has this many takes no more. */
  maxMessages: number;
}

/** The task's columns its event reads (taskOutboxInsert), with the history row's and the claim's. */
const TASK_EVENT_COLUMNS = `t.id, t.application_id, t.scanner, t.status, t.scan_agent_id, t.timeout_seconds,
  t.target_url, t.created_at, t.start_time, t.end_time, t.timeout_time, t.priority, t.attempt,
  t.retry_limit, t.retry_of_task_id, t.not_before, t.scan_config_id`;

/**
 * The claim (claimNextTasks), a prepared statement: planned once per connection. It claims for a
 * batch of agents at once ($1, $4–$6: one element per claim, in order), all with the same API key
 * ($7), teams ($8) and scanners ($2, $3): under load, one statement's fixed cost (its round trip,
 * executor start, commit) is shared by the batch (src/tasks/claim-batcher.ts). Its result columns
 * are listed, never `t.*`: a prepared statement whose result type changes fails (a migration adding
 * a column while instances run).
 */
const CLAIM_NEXT_TASKS_SQL = `WITH asked AS (
    -- char(64), as scan_agents.key_hash: a text comparison could not use its unique index.
    SELECT * FROM unnest($1::char(64)[], $4::char(64)[], $5::text[], $6::text[])
      WITH ORDINALITY AS asked(key_hash, secure_key_hash, agent_info, message, ord)
  ), agent AS (
    SELECT asked.ord, a.id, ${agentPausedSql('a')} AS paused
    FROM asked JOIN scan_agents a ON a.key_hash = asked.key_hash AND ${agentUsableSql('$7')}
  ), claimant AS (
    -- The agents that may claim, numbered: the n-th gets the n-th task (any order: one batch).
    SELECT agent.ord, agent.id, row_number() OVER () AS n
    FROM agent WHERE NOT agent.paused
  ), gate AS (
    -- What depends on no task, decided once: some agent known and not paused, and the asked-for
    -- scanners whose queues are open (fleet control: a paused agent claims nothing though its key
    -- still works; tasks of a paused queue wait). None of them: no queue is read. In the
    -- candidates' WHERE, PostgreSQL mis-estimated these and sorted the whole queue.
    SELECT open.scanners, open.wanted FROM (
      SELECT ${openScannersSql('$2')} AS scanners, (SELECT count(*) FROM claimant) AS wanted
    ) open
    WHERE cardinality(open.scanners) > 0 AND open.wanted > 0
  ), next AS (
    -- The team predicate filters candidates in the index's order (the planner hashes the
    -- teams' applications): the index still serves the claim (EXPLAIN in docs/security.md).
    SELECT candidate.id, row_number() OVER () AS n
    FROM gate CROSS JOIN LATERAL (
      SELECT id FROM scan_queue_tasks
      WHERE status = ${QUEUED} AND active AND scanner = ANY(gate.scanners)
        AND ${applicationInScopeSql('$8', 'scan_queue_tasks.application_id')}
        AND (not_before IS NULL OR not_before <= now())
      ORDER BY priority DESC, id
      LIMIT gate.wanted
      FOR UPDATE SKIP LOCKED
    ) candidate
  ), paired AS (
    SELECT next.id AS task_id, claimant.id AS agent_id, asked.*
    FROM next JOIN claimant USING (n) JOIN asked ON asked.ord = claimant.ord
  ), claimed AS (
    UPDATE scan_queue_tasks t
    SET status = ${ASSIGNED}, start_time = now(), timeout_time = now() + make_interval(secs => t.timeout_seconds),
        secure_key_hash = paired.secure_key_hash, scan_agent_id = paired.agent_id,
        scan_agent_info = paired.agent_info, last_heard_at = now(),
        scan_config_id = coalesce(t.scan_config_id, (
          SELECT c.id FROM scan_configs c
          WHERE c.application_id = t.application_id
            AND c.scanner_short_name = ($3::text[])[array_position($2::text[], t.scanner::text)]))
    FROM paired WHERE t.id = paired.task_id AND t.status = ${QUEUED}
    RETURNING ${TASK_EVENT_COLUMNS}, paired.ord AS claim_ord, paired.message AS claim_message
  ), history AS (
    INSERT INTO scan_statuses (${HISTORY_COLUMNS})
    SELECT id, claim_message, ${QUEUED}, ${ASSIGNED}, 'agent', scan_agent_id FROM claimed
  ), outbox AS (
    ${taskOutboxInsert('task.assigned', 'claimed', 't.claim_message')}
  )
  SELECT asked.ord, agent.id AS claimed_by, agent.paused AS agent_paused,
    claimed.id, claimed.scanner, claimed.target_url, claimed.created_at, claimed.start_time,
    -- The application's URL only when the task has none of its own (the agent's fallback).
    CASE WHEN coalesce(claimed.target_url, '') = '' THEN
      (SELECT a.url FROM applications a WHERE a.id = claimed.application_id) END AS application_url,
    (SELECT c.content FROM scan_configs c WHERE c.id = claimed.scan_config_id) AS config_file
  FROM asked
  LEFT JOIN agent ON agent.ord = asked.ord
  LEFT JOIN claimed ON claimed.claim_ord = asked.ord`;

interface ClaimRow {
  /** The claim's place in the batch, from 1. */
  ord: string;
  claimed_by: number | null;
  agent_paused: boolean | null;
  id: number | null;
  scanner: string;
  target_url: string | null;
  created_at: Date;
  start_time: Date | null;
  application_url: string | null;
  config_file: Buffer | null;
}

function claimResultOf(row: ClaimRow): ClaimResult {
  const agentPaused = row.agent_paused === true;
  if (row.claimed_by === null || row.id === null) {
    return { agentId: row.claimed_by, agentPaused, applicationUrl: null, configFile: null };
  }
  const task: ClaimedTask = {
    id: row.id,
    scanner: row.scanner,
    target_url: row.target_url,
    created_at: row.created_at,
    start_time: row.start_time,
  };
  return {
    agentId: row.claimed_by,
    agentPaused,
    task,
    applicationUrl: row.application_url,
    configFile: row.config_file,
  };
}

@Injectable()
export class TaskTransitionsRepository {
  /** (nothing) → QUEUED. */
  async insertQueuedTask(
    tx: EntityManager,
    task: NewTask,
    message: string,
    actor: Actor,
  ): Promise<{ task: TaskRow; status: StatusRow }> {
    // queueScan answers with the new task's view: its row and this one status, read by no query
    // after the insert. Both rows' created_at are now(), the transaction's time.
    const rows: (TaskRow & { queued_status_id: StatusRow['id'] })[] = await tx.query(
      `WITH task AS (
         INSERT INTO scan_queue_tasks (application_id, scanner, status, timeout_seconds, target_url, scan_config_id, queued_by_api_key_id,
                                       priority, retry_limit, retry_delay_seconds, retry_backoff)
         VALUES ($1, $2, ${QUEUED}, $3, $4, $5, $6, $9, $10, $11, $12)
         RETURNING *
       ), history AS (
         INSERT INTO scan_statuses (${HISTORY_COLUMNS})
         SELECT id, $7, NULL, ${QUEUED}, $8, $6 FROM task
         RETURNING id
       ), outbox AS (
         ${taskOutboxInsert('task.queued', 'task', '$7')}
       )
       SELECT task.*, history.id AS queued_status_id FROM task CROSS JOIN history`,
      [
        task.applicationId,
        task.scanner,
        task.timeoutSeconds,
        task.targetUrl,
        task.scanConfigId,
        actor.id,
        message,
        actor.type,
        task.priority,
        task.retry.limit,
        task.retry.delaySeconds,
        task.retry.backoff,
      ],
    );
    const { queued_status_id: id, ...row } = rows[0];
    const change = { from: null, to: QUEUED };
    return { task: row, status: writtenStatusRow(id, row.created_at, message, change, actor) };
  }

  /**
   * QUEUED → ASSIGNED for each claim of a batch (one, or several that share their API key, teams
   * and scanners), answered in the claims' order: the highest-priority, then oldest, active queued
   * tasks (a retry not before its not_before) of the claims' scanners whose application is in the
   * key's teams, one per claim whose agent key is known (issued by the presenting API key, neither
   * revoked) and not paused. In one statement that also records the config handed out (so the task
   * JSON shows it, as ThreadFix's did) and returns what each agent's Task payload needs.
   * `FOR UPDATE SKIP LOCKED` lets concurrent claimers (on any number of instances) pass over a row
   * another one is taking instead of waiting for it, so each task is claimed exactly once; within
   * the batch, each task is paired with one claim. Fewer tasks than claims: some claims get none.
   * Served by scan_queue_tasks_queued_idx (priority DESC, id) WHERE status = 1 AND active (several
   * scanners) or scan_queue_tasks_claimable_idx (scanner, priority DESC, id) (one scanner).
   */
  async claimNextTasks(tx: EntityManager, claims: readonly Claim[]): Promise<ClaimResult[]> {
    const [first] = claims;
    const rows = await queryPrepared<ClaimRow[]>(tx, 'claim_next_tasks', CLAIM_NEXT_TASKS_SQL, [
      claims.map((claim) => claim.agentKeyHash),
      first.scanners.map((s) => s.displayName),
      first.scanners.map((s) => s.shortName),
      claims.map((claim) => claim.secureKeyHash),
      claims.map((claim) => claim.agentInfo),
      claims.map((claim) => claim.message),
      first.apiKeyId,
      teamScopeParam(first.scope),
    ]);
    const results: ClaimResult[] = [];
    for (const row of rows) results[Number(row.ord) - 1] = claimResultOf(row);
    return results;
  }

  /** One claim: a batch of one. */
  async claimNextTask(tx: EntityManager, claim: Claim): Promise<ClaimResult> {
    const [result] = await this.claimNextTasks(tx, [claim]);
    return result;
  }

  /**
   * Any allowed move into `to` (complete, fail, cancel, time out one task). Returns the updated row,
   * or undefined when the task was not in a status that may move to `to` (someone else won). With
   * `retry` (an agent's failTask), the next attempt is queued in the same statement when the task's
   * policy has one left: `retried_as` is its id, else null.
   */
  async transitionTask(
    tx: EntityManager,
    taskId: number,
    to: TaskStatus,
    message: string,
    actor: Actor,
    options: { retry?: { reason: string } } = {},
  ): Promise<(TaskRow & { retried_as: number | null }) | undefined> {
    const retry = options.retry ? retryCtes('moved', '$7::text') : '';
    const rows: (TaskRow & { retried_as: number | null })[] = await tx.query(
      `WITH current AS (
         SELECT id, status FROM scan_queue_tasks WHERE id = $1 AND status = ANY($3::smallint[]) FOR UPDATE
       ), moved AS (
         UPDATE scan_queue_tasks t SET status = $2, end_time = now()
         FROM current WHERE t.id = current.id
         RETURNING t.*, current.status AS from_status
       ), history AS (
         INSERT INTO scan_statuses (${HISTORY_COLUMNS})
         SELECT id, $4, from_status, $2, $5, $6 FROM moved
         RETURNING id
       ), outbox AS (
         ${taskOutboxInsert(eventOfStatus(to), 'moved', '$4::text', { withScan: to === COMPLETE_SUCCESSFUL })}
       )${retry}
       SELECT moved.*, ${options.retry ? '(SELECT id FROM retry)' : 'NULL::int'} AS retried_as FROM moved`,
      [
        taskId,
        to,
        sourcesOf(to),
        message,
        actor.type,
        actor.id,
        ...(options.retry ? [options.retry.reason] : []),
      ],
    );
    return rows[0];
  }

  /**
   * An agent's progress message on its ASSIGNED task, without a transition, in one statement (an
   * agent posts these every few seconds): it checks the agent key (issued by the presenting API key,
   * neither revoked), that the agent holds the task, the task key matches and the task is in the
   * key's teams, counts the message against STATUS_MESSAGES_PER_TASK and appends the history row.
   * The count is a column of the task's row, updated in place: the row lock orders it with a racing
   * transition (a cancel or time-out that commits first wins, and no message lands after it) and with
   * the same agent's other messages, so the bound is exact. `added` is false when any check failed;
   * the caller then finds out which.
   */
  async appendAgentStatusMessage(
    tx: EntityManager,
    update: AgentStatusMessage,
  ): Promise<{ agentId: number | null; added: boolean }> {
    // Prepared: agents post these every few seconds.
    const rows = await queryPrepared<{ agent_id: number | null; added: boolean }[]>(
      tx,
      'append_agent_status_message',
      `WITH agent AS (
         SELECT a.id FROM scan_agents a WHERE a.key_hash = $3 AND ${agentUsableSql('$5')}
       ), task AS (
         UPDATE scan_queue_tasks t SET status_messages = t.status_messages + 1, last_heard_at = now()
         FROM agent
         WHERE t.id = $1 AND t.scan_agent_id = agent.id AND t.status = ${ASSIGNED}
           AND t.secure_key_hash = $4 AND t.status_messages < $7
           AND ${applicationInScopeSql('$6', 't.application_id')}
         RETURNING ${TASK_EVENT_COLUMNS}
       ), added AS (
         INSERT INTO scan_statuses (${HISTORY_COLUMNS})
         SELECT id, $2, NULL, NULL, 'agent', scan_agent_id FROM task
         RETURNING id
       ), outbox AS (
         ${taskOutboxInsert('task.status', 'task', '$2::text')}
       )
       SELECT (SELECT id FROM agent) AS agent_id, EXISTS (SELECT 1 FROM added) AS added`,
      [
        update.taskId,
        update.message,
        update.agentKeyHash,
        update.taskKeyHash,
        update.apiKeyId,
        teamScopeParam(update.scope),
        update.maxMessages,
      ],
    );
    return { agentId: rows[0].agent_id, added: rows[0].added };
  }

  /**
   * A system note on a task that stays COMPLETE_SUCCESSFUL (its scan's import finished or failed):
   * no transition, so both status columns are null. Other services hear of it as a `task.status`
   * event. Returns false when the task is not complete.
   */
  async appendCompletedTaskNote(
    tx: EntityManager,
    taskId: number,
    message: string,
  ): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `WITH task AS (
         SELECT * FROM scan_queue_tasks WHERE id = $1 AND status = ${COMPLETE_SUCCESSFUL}
       ), history AS (
         INSERT INTO scan_statuses (${HISTORY_COLUMNS})
         SELECT id, $2, NULL, NULL, 'system', NULL FROM task
         RETURNING id
       ), outbox AS (
         ${taskOutboxInsert('task.status', 'task', '$2')}
       )
       SELECT id FROM history`,
      [taskId, message],
    );
    return rows.length === 1;
  }
}

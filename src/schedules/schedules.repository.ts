/**
 * All SQL of the schedules: their rows, the scheduler's pick of a due schedule (`FOR UPDATE SKIP
 * LOCKED` on next_run_at, so concurrent instances each take a different one and none waits), the
 * skip policy's look at the tasks a schedule queued, and the record of a due time with the advance
 * of next_run_at in one statement.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { teamInScopeSql } from '../auth/team-scope.repository';
import { TaskStatus } from '../tasks/task-status';
import { RunOutcome, WhenPending } from './scheduled-scan.entity';

/** The columns a caller sets (create and update). */
export interface ScheduleValues {
  scanner: string;
  cron_expression: string;
  timezone: string;
  frequency: string | null;
  hour: number | null;
  minute: number | null;
  period: string | null;
  day: string | null;
  target_url: string | null;
  scan_config_id: number | null;
  enabled: boolean;
  when_pending: WhenPending;
  priority: number | null;
  retry_limit: number | null;
  retry_delay_seconds: number | null;
  retry_backoff: boolean | null;
  next_run_at: Date | null;
}

/** A schedule as stored, with its latest run (null before the first). */
export interface ScheduleRow extends ScheduleValues {
  id: number;
  application_id: number;
  created_by_api_key_id: number | null;
  created_at: Date;
  updated_at: Date;
  last_due_at: Date | null;
  last_fired_at: Date | null;
  last_outcome: RunOutcome | null;
  last_task_id: number | null;
  last_message: string | null;
}

const VALUE_COLUMNS: (keyof ScheduleValues)[] = [
  'scanner',
  'cron_expression',
  'timezone',
  'frequency',
  'hour',
  'minute',
  'period',
  'day',
  'target_url',
  'scan_config_id',
  'enabled',
  'when_pending',
  'priority',
  'retry_limit',
  'retry_delay_seconds',
  'retry_backoff',
  'next_run_at',
];

/** The schedule with its latest run, read through the (schedule_id, due_at) unique index. */
const WITH_LAST_RUN = `SELECT s.*, r.due_at AS last_due_at, r.fired_at AS last_fired_at,
         r.outcome AS last_outcome, r.task_id AS last_task_id, r.message AS last_message
       FROM scheduled_scans s
       LEFT JOIN LATERAL (
         SELECT due_at, fired_at, outcome, task_id, message FROM scheduled_scan_runs
         WHERE schedule_id = s.id ORDER BY due_at DESC LIMIT 1
       ) r ON true`;

export interface ApplicationRow {
  id: number;
  active: boolean;
  url: string | null;
}

export interface RunRecord {
  scheduleId: number;
  dueAt: Date;
  outcome: RunOutcome;
  taskId: number | null;
  message: string;
  nextRunAt: Date | null;
  /** SCHEDULE_RUNS_KEPT: the schedule's runs kept, this one included. */
  keep: number;
}

@Injectable()
export class SchedulesRepository {
  /** An application of the scope (active or not); with `lock`, held against concurrent creates. */
  async applicationInScope(
    tx: EntityManager,
    id: number,
    scope: TeamScope,
    options: { lock: boolean },
  ): Promise<ApplicationRow | undefined> {
    const rows: ApplicationRow[] = await tx.query(
      `SELECT id, active, url FROM applications
       WHERE id = $1 AND ${teamInScopeSql('$2', 'team_id')}${options.lock ? ' FOR UPDATE' : ''}`,
      [id, teamScopeParam(scope)],
    );
    return rows[0];
  }

  async countOfApplication(tx: EntityManager, applicationId: number): Promise<number> {
    const [{ count }]: { count: number }[] = await tx.query(
      `SELECT count(*)::int AS count FROM scheduled_scans WHERE application_id = $1`,
      [applicationId],
    );
    return count;
  }

  async scanConfig(
    tx: EntityManager,
    id: number,
  ): Promise<{ application_id: number; scanner_short_name: string } | undefined> {
    const rows: { application_id: number; scanner_short_name: string }[] = await tx.query(
      `SELECT application_id, scanner_short_name FROM scan_configs WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async insert(
    tx: EntityManager,
    applicationId: number,
    apiKeyId: number,
    values: ScheduleValues,
  ): Promise<number> {
    const params = VALUE_COLUMNS.map((column) => values[column]);
    const [{ id }]: { id: number }[] = await tx.query(
      `INSERT INTO scheduled_scans (application_id, created_by_api_key_id, ${VALUE_COLUMNS.join(', ')})
       VALUES ($1, $2, ${VALUE_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})
       RETURNING id`,
      [applicationId, apiKeyId, ...params],
    );
    return id;
  }

  /** One schedule of the application (a schedule of another application is missing here). */
  async find(
    tx: EntityManager,
    applicationId: number,
    id: number,
    options: { lock: boolean } = { lock: false },
  ): Promise<ScheduleRow | undefined> {
    const rows: ScheduleRow[] = await tx.query(
      `${WITH_LAST_RUN} WHERE s.id = $1 AND s.application_id = $2${options.lock ? ' FOR UPDATE OF s' : ''}`,
      [id, applicationId],
    );
    return rows[0];
  }

  listOfApplication(tx: EntityManager, applicationId: number): Promise<ScheduleRow[]> {
    return tx.query(`${WITH_LAST_RUN} WHERE s.application_id = $1 ORDER BY s.id`, [applicationId]);
  }

  async update(tx: EntityManager, id: number, values: ScheduleValues): Promise<void> {
    await tx.query(
      `UPDATE scheduled_scans
       SET ${VALUE_COLUMNS.map((column, i) => `${column} = $${i + 2}`).join(', ')}, updated_at = now()
       WHERE id = $1`,
      [id, ...VALUE_COLUMNS.map((column) => values[column])],
    );
  }

  async delete(tx: EntityManager, id: number): Promise<void> {
    await tx.query(`DELETE FROM scheduled_scans WHERE id = $1`, [id]);
  }

  /**
   * The enabled schedule due longest ago that no other instance holds, locked for its firing, and
   * the database's clock (every instance reckons due times by it). Served by scheduled_scans_due_idx.
   */
  async lockNextDue(tx: EntityManager): Promise<(ScheduleRow & { db_now: Date }) | undefined> {
    const rows: (ScheduleRow & { db_now: Date })[] = await tx.query(
      `SELECT s.*, now() AS db_now FROM scheduled_scans s
       WHERE s.enabled AND s.next_run_at <= now()
       ORDER BY s.next_run_at
       LIMIT 1
       FOR UPDATE SKIP LOCKED`,
    );
    return rows[0];
  }

  /** Seconds until the earliest enabled due time (null when none), by the database's clock. */
  async secondsToNextDue(tx: EntityManager): Promise<number | null> {
    const [{ seconds }]: { seconds: number | null }[] = await tx.query(
      `SELECT extract(epoch FROM min(next_run_at) - now())::float8 AS seconds
       FROM scheduled_scans WHERE enabled`,
    );
    return seconds;
  }

  /** Whether a task this schedule queued is still QUEUED or ASSIGNED. */
  async hasPendingTask(tx: EntityManager, scheduleId: number): Promise<boolean> {
    const [{ pending }]: { pending: boolean }[] = await tx.query(
      `SELECT EXISTS (
         SELECT 1 FROM scheduled_scan_runs r JOIN scan_queue_tasks t ON t.id = r.task_id
         WHERE r.schedule_id = $1 AND r.task_id IS NOT NULL AND t.status IN ($2, $3)
       ) AS pending`,
      [scheduleId, TaskStatus.QUEUED, TaskStatus.ASSIGNED],
    );
    return pending;
  }

  /**
   * Records what came of a due time and moves next_run_at on, in one statement guarded by the due
   * time still being the schedule's next: false when another firing got there first.
   */
  async recordRun(tx: EntityManager, run: RunRecord): Promise<boolean> {
    const [{ recorded }]: { recorded: number }[] = await tx.query(
      `WITH advanced AS (
         UPDATE scheduled_scans SET next_run_at = $6
         WHERE id = $1 AND next_run_at = $2
         RETURNING id
       ), run AS (
         INSERT INTO scheduled_scan_runs (schedule_id, due_at, outcome, task_id, message)
         SELECT $1, $2, $3, $4, $5 FROM advanced
         RETURNING id
       ), pruned AS (
         -- The runs before the newest $7 (this one included) go (scheduled_scan_runs_schedule_id_due_at_key), but for
         -- those whose task is still pending: a schedule's runs are bounded.
         DELETE FROM scheduled_scan_runs old
         WHERE old.schedule_id = $1 AND EXISTS (SELECT 1 FROM advanced)
           AND old.due_at < (SELECT kept.due_at FROM scheduled_scan_runs kept WHERE kept.schedule_id = $1
                             ORDER BY kept.due_at DESC OFFSET $7::int - 2 LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM scan_queue_tasks t
                           WHERE t.id = old.task_id AND t.status IN (${TaskStatus.QUEUED}, ${TaskStatus.ASSIGNED}))
       )
       SELECT count(*)::int AS recorded FROM run`,
      [run.scheduleId, run.dueAt, run.outcome, run.taskId, run.message, run.nextRunAt, run.keep],
    );
    return recorded === 1;
  }
}

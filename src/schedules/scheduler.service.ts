/**
 * Fires due schedules. Every instance runs this loop; the state is in PostgreSQL, so any number of
 * instances, stopped and started at will, fire each due time once: a firing locks its schedule row
 * (`FOR UPDATE SKIP LOCKED`, other instances take another), and in the same transaction records the
 * due time (UNIQUE per schedule), queues the task or records why not, and moves next_run_at to the
 * next due time. A due time found more than SCHEDULE_MISFIRE_SECONDS late (every instance was down)
 * is fired once when one comes back, and the due times since are passed over (no storm of catch-ups).
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EVERY_TEAM } from '../auth/team-scope';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { RestError } from '../rest/rest-error';
import { resolveScanner } from '../scans/scanner-types';
import { TasksService } from '../tasks/tasks.service';
import { RunOutcome } from './scheduled-scan.entity';
import { ScheduleMetrics } from './schedule-metrics';
import { ScheduleTiming } from './schedule-timing';
import { ScheduleRow, SchedulesRepository } from './schedules.repository';

/** Firings per round before the loop yields (it runs again at once while more are due). */
const ROUND_LIMIT = 100;
/** Waking this much after a due time, never just before it (timers, clocks). */
const WAKE_MARGIN_MS = 20;

interface Firing {
  outcome: RunOutcome;
  taskId: number | null;
  message: string;
}

@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SchedulerService.name);
  private readonly loop: PeriodicLoop;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly schedules: SchedulesRepository,
    private readonly tasks: TasksService,
    private readonly metrics: ScheduleMetrics,
  ) {
    this.loop = new PeriodicLoop(() => this.round(), {
      name: 'Scheduler',
      logger: this.logger,
      intervalMs: this.config.SCHEDULER_INTERVAL_SECONDS * 1000,
      onFailure: (error, failures) => {
        this.metrics.roundFailed();
        if (failures === 1 || failures % 20 === 0)
          this.logger.warn(`Scheduler failed (${failures} in a row): ${String(error)}`);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.SCHEDULER_INTERVAL_SECONDS > 0) this.loop.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * Fires what is due; then, if the next due time comes before the loop's interval ends, waits
   * for it here and asks to run again, so a due time is fired on time rather than up to an
   * interval late (a late firing would pass over the due times after it).
   */
  private async round(): Promise<boolean> {
    for (let fired = 0; fired < ROUND_LIMIT; fired++) {
      if (this.loop.isStopped || !(await this.fireNext())) break;
      if (fired === ROUND_LIMIT - 1) return true;
    }
    const seconds = await this.schedules.secondsToNextDue(this.dataSource.manager);
    const intervalMs = this.config.SCHEDULER_INTERVAL_SECONDS * 1000;
    if (seconds === null || seconds * 1000 >= intervalMs) return false;
    await this.loop.sleep(Math.max(0, seconds * 1000) + WAKE_MARGIN_MS);
    return true;
  }

  /** Fires the schedule due longest ago, if any; false when none is due. */
  async fireNext(): Promise<boolean> {
    let taken: { id: number; dueAt: Date; nextRunAt: Date | null } | undefined;
    try {
      return await this.dataSource.transaction(async (tx) => {
        const schedule = await this.schedules.lockNextDue(tx);
        if (!schedule) return false;
        const dueAt = schedule.next_run_at as Date;
        const now = schedule.db_now;
        const missed =
          now.getTime() - dueAt.getTime() > this.config.SCHEDULE_MISFIRE_SECONDS * 1000;
        // A late due time is fired and the next one follows it; a missed one (every instance was
        // down) is fired once (or skipped) and the due times since are passed over.
        const nextRunAt = this.nextAfter(schedule, missed ? now : dueAt);
        taken = { id: schedule.id, dueAt, nextRunAt };
        const firing = await this.fire(tx, schedule, dueAt, missed, now);
        if (
          await this.schedules.recordRun(tx, {
            scheduleId: schedule.id,
            dueAt,
            nextRunAt,
            keep: this.config.SCHEDULE_RUNS_KEPT,
            ...firing,
          })
        )
          this.metrics.fired(firing.outcome);
        return true;
      });
    } catch (error) {
      if (!taken) throw error;
      // The firing's transaction failed (not a refusal: those are recorded above). Record it and
      // move on, so one schedule cannot hold the loop; nothing of the firing was kept.
      const message = `Not queued: ${error instanceof Error ? error.message : String(error)}`.slice(
        0,
        2000,
      );
      this.logger.warn(`Schedule ${taken.id}, due ${taken.dueAt.toISOString()}: ${message}`);
      const { id, dueAt, nextRunAt } = taken;
      await this.dataSource.transaction(async (tx) => {
        if (
          await this.schedules.recordRun(tx, {
            scheduleId: id,
            dueAt,
            nextRunAt,
            outcome: 'failed',
            taskId: null,
            message,
            keep: this.config.SCHEDULE_RUNS_KEPT,
          })
        )
          this.metrics.fired('failed');
      });
      return true;
    }
  }

  private nextAfter(schedule: ScheduleRow, now: Date): Date | null {
    try {
      return ScheduleTiming.of(schedule.cron_expression, schedule.timezone).nextAfter(now);
    } catch {
      return null; // An expression that no longer parses (a croner upgrade): it stops, visibly.
    }
  }

  private async fire(
    tx: EntityManager,
    schedule: ScheduleRow,
    dueAt: Date,
    missed: boolean,
    now: Date,
  ): Promise<Firing> {
    const due = dueAt.toISOString();
    const late = `${Math.round((now.getTime() - dueAt.getTime()) / 1000)} s late, no instance ran then`;
    if (missed && this.config.SCHEDULE_CATCH_UP === 'skip')
      return {
        outcome: 'skipped',
        taskId: null,
        message: `Missed (${late}); SCHEDULE_CATCH_UP=skip.`,
      };
    if (schedule.when_pending === 'skip' && (await this.schedules.hasPendingTask(tx, schedule.id)))
      return {
        outcome: 'skipped',
        taskId: null,
        message: `Not queued: a task of schedule ${schedule.id} is still queued or assigned.`,
      };
    const scanner = resolveScanner(schedule.scanner);
    if (!scanner)
      return { outcome: 'failed', taskId: null, message: `Unknown scanner ${schedule.scanner}.` };
    const message = `Scan queued by schedule ${schedule.id} for ${due}${missed ? ` (caught up: ${late})` : ''}`;
    try {
      const { task } = await this.tasks.queueTask(tx, {
        // The schedule's creator was checked when it was made; the schedule runs as the system.
        scope: EVERY_TEAM,
        applicationId: schedule.application_id,
        scanner,
        targetUrl: schedule.target_url,
        scanConfigId: schedule.scan_config_id,
        timeoutSeconds: this.config.TASK_TIMEOUT_SECONDS,
        message,
        actor: { type: 'system', id: null },
        // null: the scanner's TASK_RETRY_POLICY and the default priority, as for queueScan.
        priority: schedule.priority ?? undefined,
        retry: {
          limit: schedule.retry_limit ?? undefined,
          delaySeconds: schedule.retry_delay_seconds ?? undefined,
          backoff: schedule.retry_backoff ?? undefined,
        },
      });
      return { outcome: 'queued', taskId: task.id, message };
    } catch (error) {
      // A refusal (the application gone or inactive, the target URL refused, the config gone) is
      // this due time's outcome; anything else fails the transaction (recorded by fireNext).
      if (!(error instanceof RestError) || error.httpStatus >= 500) throw error;
      return { outcome: 'failed', taskId: null, message: `Not queued: ${error.message}` };
    }
  }
}

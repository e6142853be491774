/**
 * Times out ASSIGNED tasks past their timeout (ThreadFix never enforced its 12 h) or whose agent
 * went silent (TASK_SILENCE_SECONDS), retrying them under their policy, and QUEUED tasks never
 * claimed (QUEUED_TASK_EXPIRY_SECONDS). Every instance runs it; the SQL (SKIP LOCKED + status
 * guard) makes concurrent runs harmless.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { ReapedTask, TaskReaperRepository } from './task-reaper.repository';
import { TaskMetrics } from './task-metrics';

const BATCH = 500;

@Injectable()
export class TaskReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskReaperService.name);
  private running?: Promise<number>;
  private readonly loop: PeriodicLoop;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: TaskMetrics,
    private readonly reaper: TaskReaperRepository,
  ) {
    this.loop = new PeriodicLoop(() => this.reapOnce().then(() => false), {
      name: 'Reaper',
      logger: this.logger,
      intervalMs: this.config.REAPER_INTERVAL_SECONDS * 1000,
      runAtStart: false,
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.REAPER_INTERVAL_SECONDS > 0) this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    await this.running;
  }

  /** Times out every overdue task, a batch per transaction; returns how many. Never overlaps itself. */
  reapOnce(): Promise<number> {
    this.running ??= this.reapAll()
      .catch((error: unknown) => {
        this.logger.error(`Reaper run failed: ${String(error)}`);
        this.metrics.reaperFailed();
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async reapAll(): Promise<number> {
    const { QUEUED_TASK_EXPIRY_SECONDS: expiry, TASK_SILENCE_SECONDS: silence } = this.config;
    const overdue = await this.inBatches((tx) => this.reaper.timeOutOverdueTasks(tx, BATCH));
    this.metrics.tasksTimedOut(overdue);
    const silent =
      silence > 0
        ? await this.inBatches((tx) => this.reaper.takeBackSilentTasks(tx, BATCH, silence))
        : 0;
    this.metrics.silentTasksTakenBack(silent);
    const expired =
      expiry > 0
        ? await this.inBatches((tx) => this.reaper.expireQueuedTasks(tx, BATCH, expiry))
        : 0;
    this.metrics.queuedTasksExpired(expired);
    if (overdue > 0) this.logger.log(`Timed out ${overdue} overdue task(s)`);
    if (silent > 0) this.logger.log(`Took back ${silent} task(s) from silent agents`);
    if (expired > 0) this.logger.log(`Timed out ${expired} queued task(s) never claimed`);
    return overdue + silent + expired;
  }

  /** One statement a transaction, a batch at a time, until a batch comes back short. */
  private async inBatches(reap: (tx: EntityManager) => Promise<ReapedTask[]>): Promise<number> {
    let total = 0;
    for (;;) {
      const reaped = await this.dataSource.transaction(reap);
      total += reaped.length;
      this.metrics.tasksRetried(reaped.filter((t) => t.retry_id !== null).map((t) => t.scanner));
      if (reaped.length < BATCH) return total;
    }
  }
}

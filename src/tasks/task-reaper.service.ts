/**
 * Times out ASSIGNED tasks whose agent went quiet (ThreadFix never enforced its 12 h). Every
 * instance runs it; the SQL (SKIP LOCKED + status guard) makes concurrent runs harmless.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { TaskTransitionsRepository } from './task-transitions.repository';
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
    private readonly transitions: TaskTransitionsRepository,
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
    let total = 0;
    for (;;) {
      const ids = await this.dataSource.transaction((tx) =>
        this.transitions.timeOutOverdueTasks(tx, BATCH),
      );
      total += ids.length;
      this.metrics.tasksTimedOut(ids.length);
      if (ids.length < BATCH) break;
    }
    if (total > 0) this.logger.log(`Timed out ${total} overdue task(s)`);
    return total;
  }
}

/**
 * Times out ASSIGNED tasks whose agent went quiet (ThreadFix never enforced its 12 h). Every
 * instance runs it; the SQL (SKIP LOCKED + status guard) makes concurrent runs harmless.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { timeOutOverdueTasks } from './task-transitions';

const BATCH = 500;

@Injectable()
export class TaskReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TaskReaperService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.REAPER_INTERVAL_SECONDS === 0) return;
    this.timer = setInterval(
      () => void this.reapOnce(),
      this.config.REAPER_INTERVAL_SECONDS * 1000,
    );
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
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
      const ids = await this.dataSource.transaction((tx) => timeOutOverdueTasks(tx, BATCH));
      total += ids.length;
      this.metrics.tasksTimedOut(ids.length);
      if (ids.length < BATCH) break;
    }
    if (total > 0) this.logger.log(`Timed out ${total} overdue task(s)`);
    return total;
  }
}

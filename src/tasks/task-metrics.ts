/**
 * The tasks' Prometheus metrics, in the generic registry (src/observability/metrics.service.ts):
 * the queue gauges read from the database at scrape time (the same on every instance) and the
 * counters and histograms of this instance's claims, uploads and final statuses.
 */
import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../observability/metrics.service';
import { SCAN_AGENT_SCANNERS } from '../scans/scanner-types';
import { TaskMetricsRepository } from './task-metrics.repository';
import { statusString, TaskStatus, TERMINAL_STATUSES } from './task-status';

const LIVE_STATUSES = [TaskStatus.QUEUED, TaskStatus.ASSIGNED] as const;

/** How a requestTask's claim ended: a task handed out, an empty queue, or an unknown agent key. */
export type ClaimOutcome = 'claimed' | 'empty' | 'refused';

export function claimOutcome(claim: { agentId: number | null; task?: unknown }): ClaimOutcome {
  return claim.agentId === null ? 'refused' : claim.task ? 'claimed' : 'empty';
}

@Injectable()
export class TaskMetrics {
  private readonly logger = new Logger('MetricsService');
  private readonly queueDepth: Gauge<'scanner'>;
  private readonly queueOldestAge: Gauge<'scanner'>;
  private readonly liveTasks: Gauge<'status'>;
  private readonly finishedTasks: Counter<'status'>;
  private readonly claimDuration: Histogram<'outcome'>;
  private readonly claimBatchSize: Histogram;
  private readonly pickupLatency: Histogram<'scanner'>;
  private readonly uploadBytes: Counter;
  private readonly uploadDuration: Histogram;
  private readonly reaperTimedOut: Counter;
  private readonly reaperFailures: Counter;
  private readonly retries: Counter<'scanner'>;
  private readonly expiredQueued: Counter;
  private readonly silentTakenBack: Counter;

  constructor(
    metrics: MetricsService,
    private readonly repository: TaskMetricsRepository,
  ) {
    const registers = [metrics.registry];
    this.queueDepth = new Gauge({
      name: 'scanqueue_queue_depth',
      help: 'Tasks waiting to be claimed, per scanner (read from the database at scrape time).',
      labelNames: ['scanner'] as const,
      registers,
    });
    this.queueOldestAge = new Gauge({
      name: 'scanqueue_queue_oldest_age_seconds',
      help: 'Seconds the next task to be claimed has been waiting, per scanner (0 when none waits).',
      labelNames: ['scanner'] as const,
      registers,
    });
    this.liveTasks = new Gauge({
      name: 'scanqueue_tasks',
      help: 'Tasks in a live status (QUEUED, ASSIGNED), read from the database at scrape time.',
      labelNames: ['status'] as const,
      registers,
    });
    this.finishedTasks = new Counter({
      name: 'scanqueue_tasks_finished_total',
      help: 'Tasks this instance moved into a final status, by that status.',
      labelNames: ['status'] as const,
      registers,
    });
    this.claimDuration = new Histogram({
      name: 'scanqueue_claim_duration_seconds',
      help: 'Time of requestTask’s claim (its statement, and its wait for a batch), by outcome (claimed, empty, refused).',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.claimBatchSize = new Histogram({
      name: 'scanqueue_claim_batch_size',
      help: 'Claims per claim statement: concurrent claims of agents sharing an API key, its teams and scanners share one.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.pickupLatency = new Histogram({
      name: 'scanqueue_pickup_latency_seconds',
      help: 'Time from a task queued to its claim by an agent, per scanner (the database clock).',
      labelNames: ['scanner'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 14400, 86400],
      registers,
    });
    this.uploadBytes = new Counter({
      name: 'scanqueue_upload_bytes_total',
      help: 'Bytes of scan result files stored by completeTask.',
      registers,
    });
    this.uploadDuration = new Histogram({
      name: 'scanqueue_upload_duration_seconds',
      help: 'Time of a successful completeTask, from the first byte read to the task completed.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.reaperTimedOut = new Counter({
      name: 'scanqueue_reaper_timed_out_tasks_total',
      help: 'Assigned tasks the reaper on this instance timed out.',
      registers,
    });
    this.reaperFailures = new Counter({
      name: 'scanqueue_reaper_failures_total',
      help: 'Reaper runs on this instance that failed (logged at ERROR).',
      registers,
    });
    this.retries = new Counter({
      name: 'scanqueue_task_retries_total',
      help: 'Retries this instance queued (a failed or timed-out attempt with attempts left), per scanner.',
      labelNames: ['scanner'] as const,
      registers,
    });
    this.expiredQueued = new Counter({
      name: 'scanqueue_reaper_expired_queued_tasks_total',
      help: 'QUEUED tasks the reaper on this instance timed out, never claimed (QUEUED_TASK_EXPIRY_SECONDS).',
      registers,
    });
    this.silentTakenBack = new Counter({
      name: 'scanqueue_reaper_silent_tasks_total',
      help: 'Assigned tasks the reaper on this instance took back from a silent agent (TASK_SILENCE_SECONDS).',
      registers,
    });
    for (const scanner of SCAN_AGENT_SCANNERS) this.retries.inc({ scanner: scanner.shortName }, 0);
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const status of TERMINAL_STATUSES)
      this.finishedTasks.inc({ status: statusString(status) }, 0);
    for (const outcome of ['claimed', 'empty', 'refused'] as const)
      this.claimDuration.zero({ outcome });
    for (const scanner of SCAN_AGENT_SCANNERS)
      this.pickupLatency.zero({ scanner: scanner.shortName });
    this.uploadBytes.inc(0);
    metrics.onScrape({ refresh: () => this.refreshQueueGauges(), reset: () => this.resetGauges() });
  }

  claimObserved(seconds: number, outcome: ClaimOutcome): void {
    this.claimDuration.observe({ outcome }, seconds);
    this.logger.debug(`Claim: ${outcome} in ${(seconds * 1000).toFixed(1)} ms`);
  }

  /** A claim statement ran for `claims` claims (src/tasks/claim-batcher.ts). */
  claimBatchObserved(claims: number): void {
    this.claimBatchSize.observe(claims);
  }

  /** A task claimed: how long it waited since it was queued (both times from the database). */
  pickupObserved(task: { scanner: string; created_at: Date; start_time: Date | null }): void {
    const scanner = SCAN_AGENT_SCANNERS.find((s) => s.displayName === task.scanner);
    if (!scanner || !task.start_time) return;
    const seconds = (task.start_time.getTime() - task.created_at.getTime()) / 1000;
    this.pickupLatency.observe({ scanner: scanner.shortName }, Math.max(0, seconds));
  }

  /** A completeTask stored its file and completed its task. */
  uploadObserved(bytes: number, seconds: number): void {
    this.uploadBytes.inc(bytes);
    this.uploadDuration.observe(seconds);
    this.finishedTasks.inc({ status: statusString(TaskStatus.COMPLETE_SUCCESSFUL) });
    this.logger.debug(`Upload: ${bytes} bytes stored in ${seconds.toFixed(3)} s`);
  }

  /** A task moved into a final status other than by completeTask or the reaper (fail, cancel). */
  taskFinished(status: TaskStatus): void {
    this.finishedTasks.inc({ status: statusString(status) });
  }

  tasksTimedOut(count: number): void {
    this.reaperTimedOut.inc(count);
    this.finishedTasks.inc({ status: statusString(TaskStatus.COMPLETE_TIMEDOUT) }, count);
  }

  /** Retries queued, by the scanner's display name (as tasks store it). */
  tasksRetried(scanners: string[]): void {
    for (const scanner of scanners) {
      const shortName = SCAN_AGENT_SCANNERS.find((s) => s.displayName === scanner)?.shortName;
      this.retries.inc({ scanner: shortName ?? scanner });
    }
  }

  queuedTasksExpired(count: number): void {
    this.expiredQueued.inc(count);
    this.finishedTasks.inc({ status: statusString(TaskStatus.COMPLETE_TIMEDOUT) }, count);
  }

  silentTasksTakenBack(count: number): void {
    this.silentTakenBack.inc(count);
    this.finishedTasks.inc({ status: statusString(TaskStatus.COMPLETE_TIMEDOUT) }, count);
  }

  reaperFailed(): void {
    this.reaperFailures.inc();
  }

  private async refreshQueueGauges(): Promise<void> {
    const [queues, live] = await Promise.all([
      this.repository.queues(SCAN_AGENT_SCANNERS.map((scanner) => scanner.displayName)),
      this.repository.liveTaskCounts(),
    ]);
    // Every scanner and live status has a series, 0 when empty (absent would mean "unknown").
    for (const scanner of SCAN_AGENT_SCANNERS) {
      const queue = queues.find((q) => q.scanner === scanner.displayName);
      this.queueDepth.set({ scanner: scanner.shortName }, queue?.depth ?? 0);
      this.queueOldestAge.set({ scanner: scanner.shortName }, queue?.oldestAgeSeconds ?? 0);
    }
    for (const status of LIVE_STATUSES)
      this.liveTasks.set({ status: statusString(status) }, live.get(status) ?? 0);
  }

  private resetGauges(): void {
    this.queueDepth.reset();
    this.queueOldestAge.reset();
    this.liveTasks.reset();
  }
}

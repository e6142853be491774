/**
 * scanqueue's Prometheus metrics (docs/operations.md lists them). The use cases report events
 * through the named hooks below (one line each where they happen); the queue gauges are read from
 * the database at scrape time, so they are the same on every instance; counters and histograms
 * are this instance's own (sum them across instances).
 */
import { Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QueryLogger } from './query-logger';
import { SCAN_AGENT_SCANNERS } from '../scans/scanner-types';
import { statusString, TaskStatus, TERMINAL_STATUSES } from '../tasks/task-status';
import { MetricsRepository } from './metrics.repository';

/** How a requestTask's claim ended: a task handed out, an empty queue, or an unknown agent key. */
export type ClaimOutcome = 'claimed' | 'empty' | 'refused';

export function claimOutcome(claim: { agentId: number | null; task?: unknown }): ClaimOutcome {
  return claim.agentId === null ? 'refused' : claim.task ? 'claimed' : 'empty';
}

/** Starts a clock; the returned function gives the seconds since. */
export function stopwatch(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e9;
}

/** Routes no pattern matched (404s) share one label value: raw URLs would be unbounded. */
const UNMATCHED_ROUTE = 'unmatched';
const LIVE_STATUSES = [TaskStatus.QUEUED, TaskStatus.ASSIGNED] as const;

@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private refreshing?: Promise<void>;

  private readonly queueDepth = new Gauge({
    name: 'scanqueue_queue_depth',
    help: 'Tasks waiting to be claimed, per scanner (read from the database at scrape time).',
    labelNames: ['scanner'] as const,
    registers: [this.registry],
  });
  private readonly queueOldestAge = new Gauge({
    name: 'scanqueue_queue_oldest_age_seconds',
    help: 'Seconds the next task to be claimed has been waiting, per scanner (0 when none waits).',
    labelNames: ['scanner'] as const,
    registers: [this.registry],
  });
  private readonly liveTasks = new Gauge({
    name: 'scanqueue_tasks',
    help: 'Tasks in a live status (QUEUED, ASSIGNED), read from the database at scrape time.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly databaseUp = new Gauge({
    name: 'scanqueue_database_up',
    help: '1 when the database answered this scrape’s queue queries, else 0 (the gauges are then absent).',
    registers: [this.registry],
  });
  private readonly finishedTasks = new Counter({
    name: 'scanqueue_tasks_finished_total',
    help: 'Tasks this instance moved into a final status, by that status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly claimDuration = new Histogram({
    name: 'scanqueue_claim_duration_seconds',
    help: 'Time of requestTask’s claim statement, by outcome (claimed, empty, refused).',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly uploadBytes = new Counter({
    name: 'scanqueue_upload_bytes_total',
    help: 'Bytes of scan result files stored by completeTask.',
    registers: [this.registry],
  });
  private readonly uploadDuration = new Histogram({
    name: 'scanqueue_upload_duration_seconds',
    help: 'Time of a successful completeTask, from the first byte read to the task completed.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  private readonly reaperTimedOut = new Counter({
    name: 'scanqueue_reaper_timed_out_tasks_total',
    help: 'Assigned tasks the reaper on this instance timed out.',
    registers: [this.registry],
  });
  private readonly reaperFailures = new Counter({
    name: 'scanqueue_reaper_failures_total',
    help: 'Reaper runs on this instance that failed (logged at ERROR).',
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'scanqueue_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  private readonly rateLimitedRequests = new Counter({
    name: 'scanqueue_rate_limited_requests_total',
    help: 'Requests this instance refused with 429, by budget (address: before the key is looked up; key: per API key).',
    labelNames: ['budget'] as const,
    registers: [this.registry],
  });
  private readonly rateLimitSyncs = new Counter({
    name: 'scanqueue_rate_limit_syncs_total',
    help: 'Round trips this instance made to the shared rate-limit store (PostgreSQL or Redis).',
    registers: [this.registry],
  });
  private queriesCounted = 0;
  private readonly databaseQueries: Counter = new Counter({
    name: 'scanqueue_database_queries_total',
    help: 'SQL statements this instance sent to PostgreSQL (every query of every use case, health check and rate-limit sync).',
    registers: [this.registry],
    collect: () => {
      this.databaseQueries.inc(QueryLogger.sent - this.queriesCounted);
      this.queriesCounted = QueryLogger.sent;
    },
  });
  private countRateLimitBuckets: () => number = () => 0;
  private readonly rateLimitBuckets: Gauge = new Gauge({
    name: 'scanqueue_rate_limit_buckets',
    help: 'Client addresses and API keys whose rate-limit counts this instance holds in memory (bounded by RATE_LIMIT_MAX_BUCKETS).',
    registers: [this.registry],
    collect: () => this.rateLimitBuckets.set(this.countRateLimitBuckets()),
  });

  constructor(private readonly repository: MetricsRepository) {
    collectDefaultMetrics({ register: this.registry });
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const status of TERMINAL_STATUSES)
      this.finishedTasks.inc({ status: statusString(status) }, 0);
    for (const outcome of ['claimed', 'empty', 'refused'] as const)
      this.claimDuration.zero({ outcome });
    this.uploadBytes.inc(0);
    for (const budget of ['address', 'key'] as const) this.rateLimitedRequests.inc({ budget }, 0);
  }

  rateLimited(budget: 'address' | 'key'): void {
    this.rateLimitedRequests.inc({ budget });
  }

  rateLimitSynced(): void {
    this.rateLimitSyncs.inc();
  }

  /** The buckets gauge is read from the limiter at scrape time. */
  watchRateLimitBuckets(count: () => number): void {
    this.countRateLimitBuckets = count;
  }

  claimObserved(seconds: number, outcome: ClaimOutcome): void {
    this.claimDuration.observe({ outcome }, seconds);
    this.logger.debug(`Claim: ${outcome} in ${(seconds * 1000).toFixed(1)} ms`);
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

  reaperFailed(): void {
    this.reaperFailures.inc();
  }

  /** Times every response by its route pattern (`/rest/tasks/:id`, never the raw URL). */
  observeHttp(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.httpDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? UNMATCHED_ROUTE,
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }

  /** The exposition text, with the queue gauges read from the database now. */
  async render(): Promise<{ contentType: string; body: string }> {
    // Concurrent scrapes share one read of the database (the route needs no key).
    this.refreshing ??= this.refreshQueueGauges().finally(() => (this.refreshing = undefined));
    await this.refreshing;
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async refreshQueueGauges(): Promise<void> {
    try {
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
      this.databaseUp.set(1);
    } catch (error) {
      // The scrape still answers (process metrics, counters); stale queue values would mislead.
      this.queueDepth.reset();
      this.queueOldestAge.reset();
      this.liveTasks.reset();
      this.databaseUp.set(0);
      this.logger.warn(`Queue metrics unavailable: ${String(error)}`);
    }
  }
}

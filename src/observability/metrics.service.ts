/**
 * scanqueue's Prometheus registry (docs/operations.md lists the metrics). Generic: it knows no
 * domain module. It holds the process, HTTP, database and rate-limit metrics; a module adds its own
 * metrics to `registry` and, for gauges read from the database at scrape time, a scrape hook
 * (`onScrape`), as the tasks module does (src/tasks/task-metrics.ts). Gauges read at scrape time
 * are the same on every instance; counters and histograms are this instance's own (sum them across
 * instances).
 */
import { Injectable, Logger } from '@nestjs/common';
import { readdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QueryLogger } from './query-logger';

/** Starts a clock; the returned function gives the seconds since. */
export function stopwatch(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * prom-client defaults that walk every handle or file descriptor on the event loop at each scrape.
 * In a Fastify server holding 10,000 long polls, the defaults' scrape held the loop (and every
 * pickup behind it) for 46–60 ms: process._getActiveHandles() 9–14 ms, twice;
 * getActiveResourcesInfo() 2.5 ms, twice; the readdir of /proc/self/fd 16–59 ms. They go;
 * process_open_fds stays, counted off the loop.
 */
const LOOP_BLOCKING_DEFAULTS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'process_open_fds',
];

/** Routes no pattern matched (404s) share one label value: raw URLs would be unbounded. */
const UNMATCHED_ROUTE = 'unmatched';

/** Gauges a module reads from the database at scrape time. */
export interface ScrapeHook {
  /** Sets the gauges; a throw marks the database down for this scrape. */
  refresh(): Promise<void>;
  /** Drops the gauges' values: stale ones would mislead. */
  reset(): void;
}

@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private refreshing?: Promise<void>;
  private readonly scrapeHooks: ScrapeHook[] = [];

  private readonly databaseUp = new Gauge({
    name: 'scanqueue_database_up',
    help: '1 when the database answered this scrape’s queries, else 0 (the gauges read at scrape time are then absent).',
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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of LOOP_BLOCKING_DEFAULTS) this.registry.removeSingleMetric(name);
    // prom-client's own, by name and help (Linux only, as its), read in the thread pool.
    if (process.platform === 'linux')
      new Gauge({
        name: 'process_open_fds',
        help: 'Number of open file descriptors.',
        registers: [this.registry],
        async collect() {
          try {
            // Less the descriptor the listing itself holds open.
            this.set((await readdir('/proc/self/fd')).length - 1);
          } catch {
            // At the descriptor limit (EMFILE) the listing fails: the scrape must still answer.
          }
        },
      });
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
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

  /** Adds gauges read from the database at each scrape. */
  onScrape(hook: ScrapeHook): void {
    this.scrapeHooks.push(hook);
  }

  /** Times every response by its route pattern (`/rest/tasks/:id`, never the raw URL). */
  observeHttp(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.httpDuration.observe(
        {
          method: request.method,
          route: (!request.is404 && request.routeUrl) || UNMATCHED_ROUTE,
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }

  /** The exposition text, with the scrape hooks' gauges read from the database now. */
  async render(): Promise<{ contentType: string; body: string }> {
    // Concurrent scrapes share one read of the database (the route needs no key).
    this.refreshing ??= this.refreshScrapeGauges().finally(() => (this.refreshing = undefined));
    await this.refreshing;
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async refreshScrapeGauges(): Promise<void> {
    try {
      await Promise.all(this.scrapeHooks.map((hook) => hook.refresh()));
      this.databaseUp.set(1);
    } catch (error) {
      // The scrape still answers (process metrics, counters); stale gauge values would mislead.
      for (const hook of this.scrapeHooks) hook.reset();
      this.databaseUp.set(0);
      this.logger.warn(`Queue metrics unavailable: ${String(error)}`);
    }
  }
}

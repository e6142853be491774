/**
 * The imports' Prometheus metrics, in the generic registry (src/observability/metrics.service.ts):
 * how this instance's import runs ended, and how long the ones that merged took.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../observability/metrics.service';

/**
 * done: merged; failed: given up (the report is malformed or of no known format, or too many
 * interrupted attempts); retried: stopped by storage or database trouble, pg-boss runs it again.
 */
export type ImportRunOutcome = 'done' | 'failed' | 'retried';

@Injectable()
export class ImportMetrics {
  private readonly runs: Counter<'outcome'>;
  private readonly duration: Histogram;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.runs = new Counter({
      name: 'scanqueue_imports_total',
      help: 'Import runs this instance ended, by outcome (done, failed, retried).',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'scanqueue_import_duration_seconds',
      help: 'Time of an import run that merged its findings, from its claim to its commit.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const outcome of ['done', 'failed', 'retried'] as const) this.runs.inc({ outcome }, 0);
  }

  runEnded(outcome: ImportRunOutcome, seconds?: number): void {
    this.runs.inc({ outcome });
    if (seconds !== undefined) this.duration.observe(seconds);
  }
}

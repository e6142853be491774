/** The scheduler's Prometheus metrics (this instance's firings), in the generic registry. */
import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../observability/metrics.service';
import { RunOutcome } from './scheduled-scan.entity';

@Injectable()
export class ScheduleMetrics {
  private readonly firings: Counter<'outcome'>;
  private readonly loopFailures: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.firings = new Counter({
      name: 'scanqueue_schedule_firings_total',
      help: 'Due times of schedules this instance fired, by outcome (queued, skipped, failed).',
      labelNames: ['outcome'] as const,
      registers,
    });
    for (const outcome of ['queued', 'skipped', 'failed']) this.firings.inc({ outcome }, 0);
    this.loopFailures = new Counter({
      name: 'scanqueue_scheduler_failures_total',
      help: "Rounds of this instance's scheduler that failed (the database unreachable, …).",
      registers,
    });
  }

  fired(outcome: RunOutcome): void {
    this.firings.inc({ outcome });
  }

  roundFailed(): void {
    this.loopFailures.inc();
  }
}

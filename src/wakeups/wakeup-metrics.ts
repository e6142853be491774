/**
 * The wake-ups' Prometheus metrics, in the generic registry (src/observability/metrics.service.ts's),
 * this instance's own: the agents waiting now, how their waits ended, and the pickup latency.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WakeOutcome } from './waiters';

const OUTCOMES: readonly WakeOutcome[] = [
  'woken',
  'timeout',
  'shutdown',
  'busy',
  'aborted',
  'withdrawn',
];

export class WakeupMetrics {
  private readonly waitsEnded: Counter<'outcome'>;
  private readonly pickup: Histogram;

  constructor(registry: Registry, waiters: () => number, listening: () => boolean) {
    const registers = [registry];
    new Gauge({
      name: 'scanqueue_poll_waiters',
      help: 'requestTask polls waiting for a task on this instance (long poll).',
      registers,
      collect() {
        this.set(waiters());
      },
    });
    new Gauge({
      name: 'scanqueue_wakeups_listening',
      help: '1 while this instance LISTENs for queued tasks (long polls are woken), else 0.',
      registers,
      collect() {
        this.set(listening() ? 1 : 0);
      },
    });
    this.waitsEnded = new Counter({
      name: 'scanqueue_poll_waits_total',
      help: 'requestTask waits on this instance by how they ended (woken, timeout, shutdown, busy: over POLL_MAX_WAITERS, aborted: the agent went away, withdrawn: its claim got a task).',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.pickup = new Histogram({
      name: 'scanqueue_task_pickup_seconds',
      help: 'Seconds from a task becoming QUEUED to its claim by an agent, claims on this instance.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const outcome of OUTCOMES) this.waitsEnded.inc({ outcome }, 0);
  }

  waitEnded(outcome: WakeOutcome): void {
    this.waitsEnded.inc({ outcome });
  }

  pickedUp(seconds: number): void {
    this.pickup.observe(Math.max(0, seconds));
  }
}

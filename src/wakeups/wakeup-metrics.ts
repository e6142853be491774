/**
 * The wake-ups' Prometheus metrics, in the generic registry (src/observability/metrics.service.ts's),
 * this instance's own: the agents waiting now and how their waits ended. (The pickup latency is
 * the tasks' scanqueue_pickup_latency_seconds, task-metrics.ts.)
 */
import { Counter, Gauge, Registry } from 'prom-client';
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
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const outcome of OUTCOMES) this.waitsEnded.inc({ outcome }, 0);
  }

  waitEnded(outcome: WakeOutcome): void {
    this.waitsEnded.inc({ outcome });
  }
}

/**
 * The fleet's Prometheus metrics (src/observability/metrics.service.ts): this instance's pause and
 * resume actions, and gauges read from the database at scrape time (the same on every instance).
 */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { ScanAgentsRepository } from './scan-agents.repository';
import { ScannerQueuesRepository } from './scanner-queues.repository';

export type FleetTarget = 'agent' | 'queue';
export type FleetAction = 'pause' | 'resume';

@Injectable()
export class FleetMetrics {
  private readonly actions: Counter<'target' | 'action'>;
  private readonly pausedAgents: Gauge;
  private readonly pausedQueues: Gauge;
  private readonly onlineAgents: Gauge;

  constructor(
    metrics: MetricsService,
    private readonly config: AppConfig,
    private readonly agents: ScanAgentsRepository,
    private readonly queues: ScannerQueuesRepository,
  ) {
    const registers = [metrics.registry];
    this.actions = new Counter({
      name: 'scanqueue_fleet_actions_total',
      help: 'Pauses and resumes of agents and scanner queues on this instance that changed something.',
      labelNames: ['target', 'action'] as const,
      registers,
    });
    this.pausedAgents = new Gauge({
      name: 'scanqueue_agents_paused',
      help: 'Agents (not revoked) an admin has paused, read from the database at scrape time.',
      registers,
    });
    this.pausedQueues = new Gauge({
      name: 'scanqueue_scanner_queues_paused',
      help: 'Scanner queues an admin has paused, read from the database at scrape time.',
      registers,
    });
    this.onlineAgents = new Gauge({
      name: 'scanqueue_agents_online',
      help: 'Agents (not revoked) seen within AGENT_ONLINE_SECONDS, read from the database at scrape time.',
      registers,
    });
    // Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
    for (const target of ['agent', 'queue'] as const)
      for (const action of ['pause', 'resume'] as const) this.actions.inc({ target, action }, 0);
    metrics.onScrape({ refresh: () => this.refresh(), reset: () => this.reset() });
  }

  /** A pause or resume that changed something (the ones that raised an event). */
  actionTaken(target: FleetTarget, paused: boolean): void {
    this.actions.inc({ target, action: paused ? 'pause' : 'resume' });
  }

  private async refresh(): Promise<void> {
    const [agents, queues] = await Promise.all([
      this.agents.fleetCounts(this.config.AGENT_ONLINE_SECONDS),
      this.queues.pausedCount(),
    ]);
    this.pausedAgents.set(agents.paused);
    this.onlineAgents.set(agents.online);
    this.pausedQueues.set(queues);
  }

  private reset(): void {
    this.pausedAgents.reset();
    this.onlineAgents.reset();
    this.pausedQueues.reset();
  }
}

/**
 * Metrics for every module (MetricsService is global, injected where events happen) and the
 * scrape route. The logger and the request context are wired into Fastify and Nest in app.ts.
 */
import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { MetricsService } from './metrics.service';

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [MetricsService, MetricsRepository],
      controllers: config.METRICS_ENABLED ? [MetricsController] : [],
      exports: [MetricsService],
    };
  }
}

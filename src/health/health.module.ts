/**
 * The operations endpoints: health and readiness, and the Prometheus scrape route (registered only
 * when METRICS_ENABLED, the default) over the generic registry of src/observability/.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { MetricsController } from './metrics.controller';

@Module({})
export class HealthModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController, ...(config.METRICS_ENABLED ? [MetricsController] : [])],
      providers: [HealthService],
    };
  }
}

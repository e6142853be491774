/**
 * The metrics registry for every module (MetricsService is global, injected where events happen;
 * the scrape route is in src/health/). The logger and the request context are wired into Fastify
 * and Nest in app.ts.
 */
import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class ObservabilityModule {}

/**
 * Wakeups (wakeups.ts) in the application: its metrics in the app's registry, its LISTEN on the
 * app's database, opened at bootstrap; every waiting poll answered before the HTTP server waits
 * for its requests (onModuleDestroy comes first), the LISTEN closed with the app.
 */
import {
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { Wakeups } from './wakeups';

@Injectable()
export class WakeupsService
  extends Wakeups
  implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  constructor(config: AppConfig, dataSource: DataSource, metrics: MetricsService) {
    super(
      config,
      (dataSource.options as { url?: string }).url,
      metrics.registry,
      new Logger('Wakeups'),
    );
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  onModuleDestroy(): void {
    this.answerAll();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}

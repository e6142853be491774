/** The Nest provider of background jobs (jobs.ts): one pg-boss per process, stopped at shutdown. */
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Jobs } from './jobs';

@Injectable()
export class JobsService extends Jobs implements OnApplicationShutdown {
  constructor(dataSource: DataSource) {
    super(dataSource, new Logger(JobsService.name));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}

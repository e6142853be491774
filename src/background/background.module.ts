/** Generic background work: pg-boss jobs (jobs.service.ts) and loops (periodic-loop.ts). */
import { Module } from '@nestjs/common';
import { JobsService } from './jobs.service';

@Module({ providers: [JobsService], exports: [JobsService] })
export class BackgroundModule {}

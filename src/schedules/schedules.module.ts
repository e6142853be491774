/** Scheduled scans: an application's schedules, and the scheduler that fires them into the queue. */
import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { ScheduleMetrics } from './schedule-metrics';
import { SchedulerService } from './scheduler.service';
import { SchedulesController } from './schedules.controller';
import { SchedulesRepository } from './schedules.repository';
import { SchedulesService } from './schedules.service';

@Module({
  imports: [TasksModule],
  controllers: [SchedulesController],
  providers: [SchedulesService, SchedulerService, SchedulesRepository, ScheduleMetrics],
  exports: [SchedulesService],
})
export class SchedulesModule {}

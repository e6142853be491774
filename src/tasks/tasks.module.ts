/** Tasks: the scan queue, its state machine, the agent protocol and the reaper. */
import { Module } from '@nestjs/common';
import { ImportsModule } from '../imports/imports.module';
import { ScanAgentsModule } from '../scan-agents/scan-agents.module';
import { ScansModule } from '../scans/scans.module';
import { ImportHistoryListener } from './import-history.listener';
import { ScanConfigsController } from './scan-configs.controller';
import { TargetUrlPolicy } from './target-url-policy';
import { TaskReaperService } from './task-reaper.service';
import { TasksAdminController } from './tasks-admin.controller';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  imports: [ScanAgentsModule, ScansModule, ImportsModule],
  // The protocol's static paths (tasks/queueScan …) are registered before the admin's tasks/:id.
  controllers: [TasksController, TasksAdminController, ScanConfigsController],
  providers: [
    TasksService,
    TasksRepository,
    TaskReaperService,
    TargetUrlPolicy,
    ImportHistoryListener,
  ],
  // The target URL policy serves the other ways in (schedules); the upload caps (UploadSlots) come
  // from ScansModule, beside the direct upload that shares them.
  exports: [TasksService, TargetUrlPolicy],
})
export class TasksModule {}

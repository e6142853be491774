/** Tasks: the scan queue, its state machine, the agent protocol and the reaper. */
import { Module } from '@nestjs/common';
import { ImportsModule } from '../imports/imports.module';
import { ScanAgentsModule } from '../scan-agents/scan-agents.module';
import { ScansModule } from '../scans/scans.module';
import { WakeupsModule } from '../wakeups/wakeups.module';
import { ClaimBatcher } from './claim-batcher';
import { ImportHistoryListener } from './import-history.listener';
import { ScanConfigsController } from './scan-configs.controller';
import { ScanConfigsService } from './scan-configs.service';
import { TaskAccess } from './task-access';
import { TaskForms } from './task-forms';
import { TaskResultsService } from './task-results.service';
import { TasksAdminService } from './tasks-admin.service';
import { TargetUrlPolicy } from './target-url-policy';
import { TaskMetrics } from './task-metrics';
import { TaskMetricsRepository } from './task-metrics.repository';
import { TaskReaperService } from './task-reaper.service';
import { TaskReaperRepository } from './task-reaper.repository';
import { TasksAdminController } from './tasks-admin.controller';
import { TasksController } from './tasks.controller';
import { TaskTransitionsRepository } from './task-transitions.repository';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';
import { RetryPolicies } from './retry-policy';

@Module({
  imports: [ScanAgentsModule, ScansModule, ImportsModule, WakeupsModule],
  // The protocol's static paths (tasks/queueScan …) are registered before the admin's tasks/:id.
  controllers: [TasksController, TasksAdminController, ScanConfigsController],
  providers: [
    TasksService,
    TasksAdminService,
    TaskResultsService,
    ScanConfigsService,
    TaskAccess,
    TaskForms,
    TasksRepository,
    TaskTransitionsRepository,
    ClaimBatcher,
    TaskReaperService,
    TaskReaperRepository,
    TargetUrlPolicy,
    TaskMetrics,
    TaskMetricsRepository,
    ImportHistoryListener,
    RetryPolicies,
  ],
  // The target URL policy serves the other ways in (schedules); the upload caps (UploadSlots) come
  // from ScansModule, beside the direct upload that shares them.
  exports: [TasksService, TasksAdminService, ScanConfigsService, TargetUrlPolicy],
})
export class TasksModule {}

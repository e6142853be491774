/**
 * Scan imports (issue 7): each stored scan's report is parsed into findings and merged into its
 * application's vulnerabilities by a runner outside the request (import-runner.service.ts); the
 * API reads the result. Queued by ScansService.record (a pg-boss job sent by name), in
 * completeTask's transaction; how a task's import ended is told to ImportOutcomeListeners.
 */
import { Module } from '@nestjs/common';
import { ApplicationsModule } from '../applications/applications.module';
import { BackgroundModule } from '../background/background.module';
import { ScansModule } from '../scans/scans.module';
import { ImportMetrics } from './import-metrics';
import { ImportOutcomeListeners } from './import-outcome.listeners';
import { ImportRunnerService } from './import-runner.service';
import { ImportsController } from './imports.controller';
import { ImportsService } from './imports.service';
import { ScanImportsRepository } from './scan-imports.repository';
import { VulnerabilitiesRepository } from './vulnerabilities.repository';

@Module({
  imports: [ApplicationsModule, ScansModule, BackgroundModule],
  controllers: [ImportsController],
  providers: [
    ImportsService,
    ImportRunnerService,
    ScanImportsRepository,
    VulnerabilitiesRepository,
    ImportOutcomeListeners,
    ImportMetrics,
  ],
  exports: [ImportOutcomeListeners, ImportsService],
})
export class ImportsModule {}

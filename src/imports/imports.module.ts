/**
 * Scan imports (issue 7): each stored scan's report is parsed into findings and merged into its
 * application's vulnerabilities by a runner outside the request (import-runner.service.ts); the
 * API reads the result. Queued by ScansService.record, in completeTask's transaction.
 */
import { Module } from '@nestjs/common';
import { ApplicationsModule } from '../applications/applications.module';
import { ScansModule } from '../scans/scans.module';
import { ImportRunnerService } from './import-runner.service';
import { ImportsController } from './imports.controller';
import { ImportsService } from './imports.service';

@Module({
  imports: [ApplicationsModule, ScansModule],
  controllers: [ImportsController],
  providers: [ImportsService, ImportRunnerService],
})
export class ImportsModule {}

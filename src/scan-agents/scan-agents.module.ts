/** Scan agents: the agent keys requestScanAgentKey issues, and their admin view. */
import { Module } from '@nestjs/common';
import { ScanAgentsController } from './scan-agents.controller';
import { ScanAgentsRepository } from './scan-agents.repository';
import { ScanAgentsService } from './scan-agents.service';

@Module({
  controllers: [ScanAgentsController],
  providers: [ScanAgentsService, ScanAgentsRepository],
  exports: [ScanAgentsService],
})
export class ScanAgentsModule {}

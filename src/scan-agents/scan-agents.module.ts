/** Scan agents: the agent keys requestScanAgentKey issues, and their admin view. */
import { Module } from '@nestjs/common';
import { ScanAgentsController } from './scan-agents.controller';
import { ScanAgentsService } from './scan-agents.service';

@Module({
  controllers: [ScanAgentsController],
  providers: [ScanAgentsService],
  exports: [ScanAgentsService],
})
export class ScanAgentsModule {}

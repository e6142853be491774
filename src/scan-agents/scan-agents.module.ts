/** Scan agents: the agent keys requestScanAgentKey issues, their admin view, and fleet control. */
import { Module } from '@nestjs/common';
import { FleetMetrics } from './fleet-metrics';
import { ScanAgentsController } from './scan-agents.controller';
import { ScanAgentsRepository } from './scan-agents.repository';
import { ScanAgentsService } from './scan-agents.service';
import { ScannerQueuesRepository } from './scanner-queues.repository';
import { WakeupsModule } from '../wakeups/wakeups.module';

@Module({
  imports: [WakeupsModule],
  controllers: [ScanAgentsController],
  providers: [ScanAgentsService, ScanAgentsRepository, ScannerQueuesRepository, FleetMetrics],
  exports: [ScanAgentsService, ScannerQueuesRepository, FleetMetrics],
})
export class ScanAgentsModule {}

/** Scanner queues: pausing and resuming a scanner's queue (fleet control), by any scanner name. */
import { Module } from '@nestjs/common';
import { ScanAgentsModule } from '../scan-agents/scan-agents.module';
import { WakeupsModule } from '../wakeups/wakeups.module';
import { ScannerQueuesController } from './scanner-queues.controller';
import { ScannerQueuesService } from './scanner-queues.service';

@Module({
  imports: [ScanAgentsModule, WakeupsModule],
  controllers: [ScannerQueuesController],
  providers: [ScannerQueuesService],
  exports: [ScannerQueuesService],
})
export class ScannerQueuesModule {}

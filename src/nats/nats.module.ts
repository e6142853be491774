/**
 * The NATS request/reply patterns for other services (connected by main.ts when NATS_URL is set;
 * service-transport.ts), one controller per area. The events they hear about are in src/events.
 */
import { Module } from '@nestjs/common';
import { ApplicationsModule } from '../applications/applications.module';
import { ImportsModule } from '../imports/imports.module';
import { ScanAgentsModule } from '../scan-agents/scan-agents.module';
import { ScannerQueuesModule } from '../scanner-queues/scanner-queues.module';
import { ScansModule } from '../scans/scans.module';
import { SchedulesModule } from '../schedules/schedules.module';
import { TasksModule } from '../tasks/tasks.module';
import { TeamsModule } from '../teams/teams.module';
import { DirectoryMessagesController } from './directory-messages.controller';
import { FleetMessagesController } from './fleet-messages.controller';
import { ImportsMessagesController } from './imports-messages.controller';
import { ScansMessagesController } from './scans-messages.controller';
import { SchedulesMessagesController } from './schedules-messages.controller';
import { TasksMessagesController } from './tasks-messages.controller';

@Module({
  imports: [
    TasksModule,
    ImportsModule,
    ScansModule,
    ScanAgentsModule,
    TeamsModule,
    ApplicationsModule,
    ScannerQueuesModule,
    SchedulesModule,
  ],
  controllers: [
    TasksMessagesController,
    DirectoryMessagesController,
    ScansMessagesController,
    ImportsMessagesController,
    FleetMessagesController,
    SchedulesMessagesController,
  ],
})
export class NatsServicesModule {}

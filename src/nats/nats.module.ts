/**
 * The NATS request/reply patterns for other services (connected by main.ts when NATS_URL is set;
 * service-transport.ts). The events they hear about are in src/events.
 */
import { Module } from '@nestjs/common';
import { ScansModule } from '../scans/scans.module';
import { TasksModule } from '../tasks/tasks.module';
import { ServiceMessagesController } from './service-messages.controller';

@Module({ imports: [TasksModule, ScansModule], controllers: [ServiceMessagesController] })
export class NatsServicesModule {}

/**
 * Events for other services: the task lifecycle events that task-transitions.repository.ts writes to the
 * outbox, relayed to NATS JetStream (NATS_URL) and to signed webhooks (WEBHOOK_URLS).
 * See docs/events.md.
 */
import { Module } from '@nestjs/common';
import { BackgroundModule } from '../background/background.module';
import { OutboxPrunerService } from './outbox-pruner.service';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRepository } from './outbox.repository';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDispatcherService } from './webhook-dispatcher.service';

@Module({
  imports: [BackgroundModule],
  providers: [
    OutboxRepository,
    WebhookDeliveriesRepository,
    OutboxRelayService,
    WebhookDispatcherService,
    OutboxPrunerService,
  ],
})
export class EventsModule {}

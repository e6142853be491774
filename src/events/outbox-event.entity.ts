import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One task lifecycle event, written by task-transitions.repository.ts in the statement that made the change.
 * The partial indexes serve the relays and are declared in the migration beside their queries.
 */
@Entity({ name: 'outbox_events' })
@Index('outbox_events_unpublished_idx', { synchronize: false })
@Index('outbox_events_webhooks_pending_idx', { synchronize: false })
@Index('outbox_events_aggregate_id_idx', ['aggregateId', 'id'])
export class OutboxEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** `task.queued`, `task.completed` … (event-types.ts). */
  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType!: string;

  /** NATS subject relative to NATS_SUBJECT_PREFIX (`task.completed` → `scanqueue.task.completed`). */
  @Column({ type: 'varchar', length: 255 })
  subject!: string;

  /** The task the event is about. */
  @Column({ name: 'aggregate_id', type: 'int' })
  aggregateId!: number;

  /** The event's data as the transition recorded it; event.mapper.ts builds the wire message. */
  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Set once JetStream acknowledged the message; null while it is owed. */
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt!: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** Set once a webhook delivery row exists for every configured endpoint. */
  @Column({ name: 'webhooks_queued_at', type: 'timestamptz', nullable: true })
  webhooksQueuedAt!: Date | null;
}

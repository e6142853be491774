import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox (src/events): every task transition inserts its event here in the same
 * statement as the change (task-transitions.ts), and relays hand the rows on to NATS JetStream and
 * to webhooks. No foreign key to the task: the outbox is an append-only log, and a key check per
 * event would only add a lock to the hottest statements.
 */
export class OutboxEvents1764800000000 implements MigrationInterface {
  name = 'OutboxEvents1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_events (
        id bigserial PRIMARY KEY,
        event_type varchar(64) NOT NULL,
        subject varchar(255) NOT NULL,
        aggregate_id int NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        webhooks_queued_at timestamptz
      )`);
    // The JetStream relay (outbox-relay.service.ts claimBatch): unpublished rows in id order,
    // `WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`. Holds only the
    // backlog, so an idle poll is an index lookup of an empty index whatever the history.
    await q.query(
      `CREATE INDEX outbox_events_unpublished_idx ON outbox_events (id) WHERE published_at IS NULL`,
    );
    // The webhook fan-out (webhook-dispatcher.service.ts fanOut): events not yet turned into deliveries.
    await q.query(
      `CREATE INDEX outbox_events_webhooks_pending_idx ON outbox_events (id) WHERE webhooks_queued_at IS NULL`,
    );
    // The events of one task, in order (support, tests).
    await q.query(
      `CREATE INDEX outbox_events_aggregate_id_idx ON outbox_events (aggregate_id, id)`,
    );
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
        endpoint varchar(2048) NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        dead_at timestamptz,
        last_status int,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_deliveries_event_id_endpoint_key UNIQUE (event_id, endpoint)
      )`);
    // The webhook sender (webhook-dispatcher.service.ts claimDue): deliveries still owed and due,
    // `WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now() ORDER BY next_attempt_at`.
    await q.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
       WHERE delivered_at IS NULL AND dead_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE outbox_events`);
  }
}

/**
 * Relays the outbox to NATS JetStream (enabled by NATS_URL). Each round claims the oldest
 * unpublished rows, publishes them in id order with the outbox id as the JetStream `msgID`, and
 * marks them published in the same transaction. A crash between the publish and the commit makes
 * the next round publish the row again, and JetStream drops the copy (same msgID within the
 * stream's duplicate window): effectively once. While NATS fails, rows stay unpublished and the
 * failing row records its attempts and the time of its next try, shared by every instance.
 *
 * Wake-up: a short poll (OUTBOX_POLL_INTERVAL_MS) of the partial index of unpublished rows, not
 * LISTEN/NOTIFY: a NOTIFY in the transition statements' transactions would serialise their
 * commits on PostgreSQL's database-wide notify lock (held through the WAL flush), a cost on the
 * claim path, while an idle poll is an index lookup of an empty index.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  JetStreamClient,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
// Types by file path: with this project's node10 module resolution TypeScript cannot follow the
// package's `exports` map to nats-core's re-exports.
import type { NatsConnection } from '@nats-io/nats-core/lib/core';
import { connect } from '@nats-io/transport-node';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { EVENT_SUBJECT_ROOTS } from './event-types';
import { retryDelayMs } from '../background/backoff';
import { redactUrls } from './delivery-policy';
import { toEventMessage } from './event.mapper';
import { OutboxRepository } from './outbox.repository';

const BATCH = 200;
const PUBLISH_TIMEOUT_MS = 5_000;
const DUPLICATE_WINDOW_MS = 2 * 60_000;

@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  private connection?: NatsConnection;
  private js?: JetStreamClient;
  private readonly loop: PeriodicLoop;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly config: AppConfig,
  ) {
    this.loop = new PeriodicLoop(() => this.round(), {
      name: 'Event relay',
      logger: this.logger,
      intervalMs: this.config.OUTBOX_POLL_INTERVAL_MS,
      failureDelayMs: (failures) => retryDelayMs(failures, 500, this.config.OUTBOX_RETRY_MAX_MS),
      onFailure: (error, failures) => {
        if (failures === 1 || failures % 20 === 0)
          this.logger.warn(`Event relay: ${redactUrls(String(error))} (will retry)`);
      },
    });
  }

  onApplicationBootstrap(): void {
    // In the background: scanqueue serves its API while NATS is down, and the events wait.
    if (this.config.NATS_URL) this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    await this.connection?.close().catch(() => undefined);
  }

  /** One round; true when a full batch went out (more may be waiting). */
  private async round(): Promise<boolean> {
    this.js ??= await this.connect();
    const round = await this.relayRound(this.js);
    return round.published === BATCH && !round.failed;
  }

  /** Connects (reconnecting forever afterwards) and makes sure the stream exists. */
  private async connect(): Promise<JetStreamClient> {
    if (!this.connection || this.connection.isClosed()) {
      this.connection = await connect({
        ...this.config.natsConnection,
        name: `scanqueue-outbox-relay-${this.config.instanceId}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
      });
    }
    const manager = await jetstreamManager(this.connection);
    const name = this.config.NATS_STREAM;
    const prefix = this.config.NATS_SUBJECT_PREFIX;
    const subjects = EVENT_SUBJECT_ROOTS.map((root) => `${prefix}${root}.>`);
    try {
      const info = await manager.streams.info(name);
      // A stream scanqueue created before some event roots existed (only default subjects, fewer
      // than today's) gains the new ones; an operator's own configuration is left alone.
      const current = info.config.subjects ?? [];
      const added = subjects.filter((subject) => !current.includes(subject));
      if (current.every((subject) => subjects.includes(subject)) && added.length > 0) {
        await manager.streams.update(name, { ...info.config, subjects });
        this.logger.log(`JetStream stream ${name} now also captures ${added.join(', ')}`);
      }
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound))
        throw error;
      // An existing stream is left as its operator configured it; a missing one gets the defaults.
      await manager.streams.add({
        name,
        subjects,
        duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000, // nanoseconds
      });
      this.logger.log(`Created JetStream stream ${name}`);
    }
    return jetstream(this.connection);
  }

  /**
   * One round: under the relay lock, the oldest unpublished rows in id order, published until one
   * fails or is not due yet.
   */
  async relayRound(js: JetStreamClient): Promise<{ published: number; failed: boolean }> {
    const outcome = await this.outbox.relayTransaction(async (tx) => {
      const rows = await this.outbox.unpublished(tx, BATCH);
      const published: string[] = [];
      let failed = false;
      for (const row of rows) {
        // The head row is backing off: later rows wait too, so subscribers see events in order.
        if (!row.due) break;
        try {
          await js.publish(
            this.config.NATS_SUBJECT_PREFIX + row.subject,
            JSON.stringify(toEventMessage(row)),
            { msgID: String(row.id), timeout: PUBLISH_TIMEOUT_MS },
          );
          published.push(String(row.id));
        } catch (error) {
          failed = true;
          await this.outbox.deferPublish(
            tx,
            row.id,
            redactUrls(String(error)),
            retryDelayMs(row.attempts + 1, 500, this.config.OUTBOX_RETRY_MAX_MS),
          );
          if (row.attempts === 0 || (row.attempts + 1) % 20 === 0)
            this.logger.warn(
              `Event ${row.id} not published yet (attempt ${row.attempts + 1}): ${redactUrls(String(error))}`,
            );
          break;
        }
      }
      await this.outbox.markPublished(tx, published);
      return { published: published.length, failed };
    });
    return outcome ?? { published: 0, failed: false };
  }
}

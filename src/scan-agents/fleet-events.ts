/**
 * The fleet's events (docs/events.md): an admin paused or resumed an agent or a scanner's queue.
 * Subjects `<prefix>fleet.…`; the statements that pause and resume write them beside the change
 * (scan-agents.repository.ts, scanner-queues.repository.ts). The outbox itself is events/'s.
 */
import { isoTime, OutboxRow, registerEventMapper } from '../events/event.mapper';
import { outboxInsertSql } from '../events/outbox.repository';

export const FLEET_EVENT_TYPES = [
  'fleet.agent_paused',
  'fleet.agent_resumed',
  'fleet.queue_paused',
  'fleet.queue_resumed',
] as const;

export type FleetEventType = (typeof FLEET_EVENT_TYPES)[number];

export const agentEventType = (paused: boolean): FleetEventType =>
  paused ? 'fleet.agent_paused' : 'fleet.agent_resumed';
export const queueEventType = (paused: boolean): FleetEventType =>
  paused ? 'fleet.queue_paused' : 'fleet.queue_resumed';

/** Who made the change: the API key of the REST or NATS call. */
export interface FleetActor {
  type: 'api_key';
  id: number;
}

/** The outbox INSERT of a fleet event per row of `source` (a CTE), as a CTE body. */
export function fleetOutboxInsert(
  type: FleetEventType,
  source: string,
  aggregateId: string,
  subject: string,
  actorApiKeyParam: string,
): string {
  return outboxInsertSql({
    type,
    from: `${source} f`,
    aggregateId,
    payload: `jsonb_build_object(${subject},
         'actor', jsonb_build_object('type', 'api_key', 'id', ${actorApiKeyParam}::int))`,
  });
}

interface StoredFleetEvent {
  agent?: { id: number; apiKeyId: number; pausedAt: string | null };
  queue?: { scanner: string; scannerShortName: string; pausedAt: string | null };
  actor: FleetActor;
}

/** A fleet event's own fields (after the envelope event.mapper.ts builds); times in ISO-8601 UTC. */
export interface FleetEventBody {
  agent?: { id: number; apiKeyId: number; paused: boolean; pausedAt: string | null };
  queue?: { scanner: string; scannerShortName: string; paused: boolean; pausedAt: string | null };
  actor: FleetActor;
}

export function toFleetEventBody(row: OutboxRow): FleetEventBody {
  const { agent, queue, actor } = row.payload as unknown as StoredFleetEvent;
  if (!agent && !queue) throw new Error(`Fleet event ${row.id} names no agent or queue`);
  return {
    ...(agent && {
      agent: {
        id: agent.id,
        apiKeyId: agent.apiKeyId,
        paused: agent.pausedAt !== null,
        pausedAt: isoTime(agent.pausedAt),
      },
    }),
    ...(queue && {
      queue: {
        scanner: queue.scanner,
        scannerShortName: queue.scannerShortName,
        paused: queue.pausedAt !== null,
        pausedAt: isoTime(queue.pausedAt),
      },
    }),
    actor: { type: 'api_key', id: actor.id },
  };
}

registerEventMapper('fleet', (row) => ({ ...toFleetEventBody(row) }));

/**
 * SQL: tells every instance's waiting polls (src/wakeups/, the channel of migration 1765800000000)
 * that tasks of `scannerExpr` may be claimable again (a queue or an agent resumed), as a queued
 * task does; id 0 names no task. Sent at commit, so a poll woken by it sees the resume.
 */
export function claimableAgainSql(scannerExpr: string): string {
  return `pg_notify('scanqueue_task_queued', json_build_object('id', 0, 'scanner', ${scannerExpr})::text)::text`;
}

import type { EventEmitter } from 'node:events';
import type { ClientBase } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { ApplicationEntity } from '../applications/application.entity';
import { OutboxEventEntity } from '../events/outbox-event.entity';
import { WebhookDeliveryEntity } from '../events/webhook-delivery.entity';
import { ScanAgentEntity } from '../scan-agents/scan-agent.entity';
import { ScanConfigEntity } from '../scans/scan-config.entity';
import { ScanEntity } from '../scans/scan.entity';
import { ScanUploadEntity, ScanUploadHistoryEntity } from '../scans/scan-upload.entity';
import { FindingEntity } from '../imports/finding.entity';
import { ScanImportEntity } from '../imports/scan-import.entity';
import { VulnerabilityEntity } from '../imports/vulnerability.entity';
import { TeamEntity } from '../teams/team.entity';
import { ScanQueueTaskEntity } from '../tasks/scan-queue-task.entity';
import { defaultPoolSize } from '../config/database-config';
import { QueryLogger } from '../observability/query-logger';
import { ScanStatusEntity } from '../tasks/scan-status.entity';
import { ScheduledScanEntity, ScheduledScanRunEntity } from '../schedules/scheduled-scan.entity';
import { InitialSchema1764388800000 } from './migrations/1764388800000-initial-schema';
import { QueuedTasksIndex1764475200000 } from './migrations/1764475200000-queued-tasks-index';
import { OutboxEvents1764800000000 } from './migrations/1764800000000-outbox-events';
import { ScanImports1764900000000 } from './migrations/1764900000000-scan-imports';
import { ScanConfigMetadata1764950000000 } from './migrations/1764950000000-scan-config-metadata';
import { TeamsAndRoles1765000000000 } from './migrations/1765000000000-teams-and-roles';
import { ThreadFixAdmin1765100000000 } from './migrations/1765100000000-threadfix-admin';
import { RateLimitCounters1765200000000 } from './migrations/1765200000000-rate-limit-counters';
import { AgentBounds1765300000000 } from './migrations/1765300000000-agent-bounds';
import { Jobs1765400000000 } from './migrations/1765400000000-jobs';
import { TaskLifecycle1765500000000 } from './migrations/1765500000000-task-lifecycle';
import { ScheduledScans1765600000000 } from './migrations/1765600000000-scheduled-scans';
import { FleetControl1765700000000 } from './migrations/1765700000000-fleet-control';
import { ScannerQueueEntity } from '../scan-agents/scanner-queue.entity';
import { TaskWakeups1765800000000 } from './migrations/1765800000000-task-wakeups';
import { SchedulesFollowApplications1765950000000 } from './migrations/1765950000000-schedules-follow-applications';
import { AgentRevocationNotify1766000000000 } from './migrations/1766000000000-agent-revocation-notify';

export const ENTITIES = [
  ApiKeyEntity,
  ApplicationEntity,
  TeamEntity,
  ScanAgentEntity,
  ScanConfigEntity,
  ScanEntity,
  ScanUploadEntity,
  ScanUploadHistoryEntity,
  ScanQueueTaskEntity,
  ScanStatusEntity,
  OutboxEventEntity,
  WebhookDeliveryEntity,
  ScanImportEntity,
  FindingEntity,
  VulnerabilityEntity,
  ScheduledScanEntity,
  ScheduledScanRunEntity,
  ScannerQueueEntity,
];

export const MIGRATIONS = [
  InitialSchema1764388800000,
  QueuedTasksIndex1764475200000,
  OutboxEvents1764800000000,
  ScanImports1764900000000,
  ScanConfigMetadata1764950000000,
  TeamsAndRoles1765000000000,
  ThreadFixAdmin1765100000000,
  RateLimitCounters1765200000000,
  AgentBounds1765300000000,
  Jobs1765400000000,
  TaskLifecycle1765500000000,
  ScheduledScans1765600000000,
  FleetControl1765700000000,
  TaskWakeups1765800000000,
  SchedulesFollowApplications1765950000000,
  AgentRevocationNotify1766000000000,
];

/**
 * Each new pool connection, before its first query. A backend terminated as it starts (failover,
 * pg_terminate_backend) sends its error in the same read as ReadyForQuery: pg-pool hands a new
 * connection over through a promise and TypeORM listens for its errors a microtask later, so the
 * error would be emitted with no listener and end the process. The listener here only keeps it
 * alive: the SET below (or the first query) fails, and the pool drops the connection (503).
 * The hot statements are prepared (src/sql/prepared-statements.ts) and written for one plan per
 * connection: the batched claim's queue read has no constant LIMIT, so its custom plans (one per
 * call, about a millisecond of planning) look cheaper than its generic one and PostgreSQL would
 * keep planning it. Its generic plan is checked in test/task-transitions.e2e-spec.ts. Unnamed
 * statements (TypeORM's query()) are planned per call whatever this says.
 */
export async function preparePoolConnection(
  client: EventEmitter & Pick<ClientBase, 'query'>,
): Promise<void> {
  client.on('error', () => undefined);
  await client.query('SET plan_cache_mode = force_generic_plan');
}

export function dataSourceOptions(url: string, poolSize = defaultPoolSize()): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // `findOneBy({ id: undefined })` must fail, not return the first row.
    invalidWhereValuesBehavior: { null: 'throw', undefined: 'throw' },
    extra: {
      max: poolSize,
      application_name: 'scanqueue',
      onConnect: preparePoolConnection,
    },
    logging: ['error', 'migration'],
    // Failed queries with their SQL and error, never their parameters (query-logger.ts).
    logger: new QueryLogger(),
  };
}

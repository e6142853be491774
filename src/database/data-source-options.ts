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
import { ScanStatusEntity } from '../tasks/scan-status.entity';
import { InitialSchema1764388800000 } from './migrations/1764388800000-initial-schema';
import { QueuedTasksIndex1764475200000 } from './migrations/1764475200000-queued-tasks-index';
import { OutboxEvents1764800000000 } from './migrations/1764800000000-outbox-events';
import { ScanImports1764900000000 } from './migrations/1764900000000-scan-imports';
import { TeamsAndRoles1765000000000 } from './migrations/1765000000000-teams-and-roles';
import { ThreadFixAdmin1765100000000 } from './migrations/1765100000000-threadfix-admin';

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
];

export const MIGRATIONS = [
  InitialSchema1764388800000,
  QueuedTasksIndex1764475200000,
  OutboxEvents1764800000000,
  ScanImports1764900000000,
  TeamsAndRoles1765000000000,
  ThreadFixAdmin1765100000000,
];

export function dataSourceOptions(url: string, poolSize = 20): DataSourceOptions {
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
    extra: { max: poolSize, application_name: 'scanqueue' },
    logging: ['error', 'migration'],
  };
}

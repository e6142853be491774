/**
 * The rows tasks' SQL returns (snake_case, straight from PostgreSQL), derived from the entities'
 * column declarations so a column is declared once: a property of an entity becomes its snake_case
 * column; relations (optional properties) are left out.
 */
import { ScanConfigEntity } from '../scans/scan-config.entity';
import { ScanQueueTaskEntity } from './scan-queue-task.entity';
import { ScanStatusEntity } from './scan-status.entity';

/** `scanAgentId` → `scan_agent_id`. */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** An entity's columns as a raw row: snake_case keys, relations (optional properties) left out. */
export type RowOf<Entity> = {
  [
    Key in keyof Entity as undefined extends Entity[Key]
      ? never
      : Key extends string
        ? SnakeCase<Key>
        : never
  ]: Entity[Key];
};

/** A scan_queue_tasks row (`SELECT t.*`, `RETURNING t.*`). */
export type TaskRow = RowOf<ScanQueueTaskEntity>;

/** A scan_statuses row as the task JSON reads it. */
export type StatusRow = Omit<RowOf<ScanStatusEntity>, 'task_id'>;

/** A scan config as the task JSON shows it (no content). */
export type ScanConfigRow = Pick<
  RowOf<ScanConfigEntity>,
  'id' | 'scanner_short_name' | 'content_type' | 'uploaded_at'
>;

/** A scan config as the admin route lists it: everything but its content. */
export type ScanConfigListRow = Omit<RowOf<ScanConfigEntity>, 'content'>;

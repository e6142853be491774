/** Reads of tasks and what their JSON needs. Writes of `status` live in task-transitions.ts only. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ScanConfigListRow } from './scan-config.dto';
import { ScanConfigRow, StatusRow, TaskView } from './task-json.mapper';
import { TaskRow } from './task-transitions';
import { TaskStatus } from './task-status';

export interface TaskFilter {
  status?: TaskStatus;
  applicationId?: number;
  scanner?: string;
  offset: number;
  limit: number;
}

const CONFIG_COLUMNS = 'id, application_id, scanner_short_name, content_type, uploaded_at';

@Injectable()
export class TasksRepository {
  async findTask(
    tx: EntityManager,
    id: number,
    options: { lock: boolean },
  ): Promise<TaskRow | undefined> {
    const rows: TaskRow[] = await tx.query(
      `SELECT * FROM scan_queue_tasks WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  async loadViews(tx: EntityManager, tasks: TaskRow[]): Promise<TaskView[]> {
    if (tasks.length === 0) return [];
    const ids = tasks.map((task) => task.id);
    // Sequential: a transaction's queries share one connection.
    const statuses: (StatusRow & { task_id: number })[] = await tx.query(
      `SELECT id, task_id, message, created_at, from_status, to_status, actor_type, actor_id, active
       FROM scan_statuses WHERE task_id = ANY($1::int[]) ORDER BY task_id, id`,
      [ids],
    );
    const configs: ScanConfigRow[] = await tx.query(
      `SELECT ${CONFIG_COLUMNS} FROM scan_configs WHERE id = ANY($1::int[])`,
      [tasks.map((task) => task.scan_config_id).filter((id) => id !== null)],
    );
    const apps: { id: number; url: string | null }[] = await tx.query(
      `SELECT id, url FROM applications WHERE id = ANY($1::int[])`,
      [[...new Set(tasks.map((task) => task.application_id))]],
    );
    return tasks.map((task) => ({
      task,
      statuses: statuses.filter((status) => status.task_id === task.id),
      scanConfig: configs.find((config) => config.id === task.scan_config_id) ?? null,
      applicationUrl: apps.find((app) => app.id === task.application_id)?.url ?? null,
    }));
  }

  async loadView(tx: EntityManager, task: TaskRow): Promise<TaskView> {
    return (await this.loadViews(tx, [task]))[0];
  }

  async list(tx: EntityManager, filter: TaskFilter): Promise<{ total: number; tasks: TaskRow[] }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`);
    if (filter.applicationId !== undefined)
      where.push(`application_id = $${params.push(filter.applicationId)}`);
    if (filter.scanner !== undefined) where.push(`scanner = $${params.push(filter.scanner)}`);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ count }] = await tx.query(
      `SELECT count(*)::int AS count FROM scan_queue_tasks ${clause}`,
      params,
    );
    const tasks: TaskRow[] = await tx.query(
      `SELECT * FROM scan_queue_tasks ${clause} ORDER BY id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { total: count as number, tasks };
  }

  /** The newest failure/transition message recorded when the task moved to `status`. */
  async transitionMessage(
    tx: EntityManager,
    taskId: number,
    status: TaskStatus,
  ): Promise<string | undefined> {
    const rows: { message: string }[] = await tx.query(
      `SELECT message FROM scan_statuses WHERE task_id = $1 AND to_status = $2 ORDER BY id DESC LIMIT 1`,
      [taskId, status],
    );
    return rows[0]?.message;
  }

  /** Whether the task's scan row refers to the stored file (served by scans_task_id_key). */
  async findScanConfig(
    tx: EntityManager,
    id: number,
  ): Promise<(ScanConfigRow & { application_id: number }) | undefined> {
    const rows = await tx.query(`SELECT ${CONFIG_COLUMNS} FROM scan_configs WHERE id = $1`, [id]);
    return rows[0];
  }

  /** Replaces the application's config for the scanner in place: its id (a task's scanConfigId) stays. */
  async upsertScanConfig(
    tx: EntityManager,
    config: {
      applicationId: number;
      scannerShortName: string;
      contentType: string;
      content: Buffer;
      originalFilename: string | null;
      uploadedByApiKeyId: number;
    },
  ): Promise<number> {
    const rows: { id: number }[] = await tx.query(
      `INSERT INTO scan_configs (application_id, scanner_short_name, content_type, content, uploaded_at,
                                 original_filename, size_bytes, sha256, uploaded_by_api_key_id)
       VALUES ($1, $2, $3, $4::bytea, now(), $5, octet_length($4::bytea), encode(sha256($4::bytea), 'hex'), $6)
       ON CONFLICT (application_id, scanner_short_name)
       DO UPDATE SET content_type = EXCLUDED.content_type, content = EXCLUDED.content, uploaded_at = now(),
                     original_filename = EXCLUDED.original_filename, size_bytes = EXCLUDED.size_bytes,
                     sha256 = EXCLUDED.sha256, uploaded_by_api_key_id = EXCLUDED.uploaded_by_api_key_id
       RETURNING id`,
      [
        config.applicationId,
        config.scannerShortName,
        config.contentType,
        config.content,
        config.originalFilename,
        config.uploadedByApiKeyId,
      ],
    );
    return rows[0].id;
  }

  /**
   * An application's configs without their content, by id. Served by
   * scan_configs_application_id_scanner_key (application_id, scanner_short_name).
   */
  async listScanConfigs(tx: EntityManager, applicationId: number): Promise<ScanConfigListRow[]> {
    return tx.query(
      `SELECT id, application_id, scanner_short_name, original_filename, content_type, size_bytes,
              sha256, created_at, uploaded_at, uploaded_by_api_key_id
       FROM scan_configs WHERE application_id = $1 ORDER BY id`,
      [applicationId],
    );
  }
}

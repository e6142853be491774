/** Reads of tasks and what their JSON needs, and scan configs. Writes of `status` live in task-transitions.repository.ts only. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { reachesTeam, TeamScope, teamScopeParam } from '../auth/team-scope';
import { applicationInScopeSql } from '../auth/team-scope.repository';
import { TaskView } from './task-json.mapper';
import { ScanConfigListRow, ScanConfigRow, StatusRow, TaskRow } from './task-rows';
import { TaskStatus } from './task-status';

export interface TaskFilter {
  scope: TeamScope;
  status?: TaskStatus;
  applicationId?: number;
  scanner?: string;
  offset: number;
  limit: number;
}

const CONFIG_COLUMNS = 'id, application_id, scanner_short_name, content_type, uploaded_at';
const STATUS_COLUMNS =
  'id, task_id, message, created_at, from_status, to_status, actor_type, actor_id, active';

@Injectable()
export class TasksRepository {
  /** An application in the scope (active or not, as `active` says); out of the scope: undefined. */
  async applicationInScope(
    tx: EntityManager,
    id: number,
    scope: TeamScope,
  ): Promise<ApplicationEntity | undefined> {
    const app = await tx.findOneBy(ApplicationEntity, { id });
    return app && reachesTeam(scope, app.teamId) ? app : undefined;
  }

  /**
   * One task, if its application is in the scope (an out-of-scope task is as missing as one that
   * does not exist). Served by the primary key.
   */
  async findTask(
    tx: EntityManager,
    id: number,
    options: { lock: boolean; scope: TeamScope },
  ): Promise<TaskRow | undefined> {
    const rows: TaskRow[] = await tx.query(
      `SELECT t.* FROM scan_queue_tasks t
       WHERE t.id = $1 AND ${applicationInScopeSql('$2', 't.application_id')}${options.lock ? ' FOR UPDATE OF t' : ''}`,
      [id, teamScopeParam(options.scope)],
    );
    return rows[0];
  }

  /**
   * What the task JSON needs of each task: its latest `statuses` status rows (in order; a task may
   * hold thousands, and the JSON must stay small), its config and its application's URL. With
   * `count`, also the number of status rows each task has. The statuses are read newest first
   * through scan_statuses_task_id_id_idx (task_id, id), one bounded index range per task.
   */
  async loadViews(
    tx: EntityManager,
    tasks: TaskRow[],
    options: { statuses: number; count?: boolean },
  ): Promise<TaskView[]> {
    if (tasks.length === 0) return [];
    const ids = tasks.map((task) => task.id);
    // Sequential: a transaction's queries share one connection.
    const statuses: (StatusRow & { task_id: number })[] = await tx.query(
      `SELECT s.* FROM unnest($1::int[]) AS wanted(task_id)
       CROSS JOIN LATERAL (
         SELECT ${STATUS_COLUMNS} FROM scan_statuses
         WHERE task_id = wanted.task_id ORDER BY id DESC LIMIT $2
       ) s
       ORDER BY s.task_id, s.id`,
      [ids, options.statuses],
    );
    const counts: { task_id: number; count: number }[] = options.count
      ? await tx.query(
          `SELECT task_id, count(*)::int AS count FROM scan_statuses
           WHERE task_id = ANY($1::int[]) GROUP BY task_id`,
          [ids],
        )
      : [];
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
      statusCount: options.count
        ? (counts.find((row) => row.task_id === task.id)?.count ?? 0)
        : undefined,
      scanConfig: configs.find((config) => config.id === task.scan_config_id) ?? null,
      applicationUrl: apps.find((app) => app.id === task.application_id)?.url ?? null,
    }));
  }

  async loadView(
    tx: EntityManager,
    task: TaskRow,
    options: { statuses: number; count?: boolean },
  ): Promise<TaskView> {
    return (await this.loadViews(tx, [task], options))[0];
  }

  /** Tasks newest first, filtered, within the scope. */
  async list(tx: EntityManager, filter: TaskFilter): Promise<{ total: number; tasks: TaskRow[] }> {
    const params: unknown[] = [teamScopeParam(filter.scope)];
    const where: string[] = [applicationInScopeSql('$1', 't.application_id')];
    if (filter.status !== undefined) where.push(`t.status = $${params.push(filter.status)}`);
    if (filter.applicationId !== undefined)
      where.push(`t.application_id = $${params.push(filter.applicationId)}`);
    if (filter.scanner !== undefined) where.push(`t.scanner = $${params.push(filter.scanner)}`);
    const clause = `WHERE ${where.join(' AND ')}`;
    const [{ count }] = await tx.query(
      `SELECT count(*)::int AS count FROM scan_queue_tasks t ${clause}`,
      params,
    );
    const tasks: TaskRow[] = await tx.query(
      `SELECT t.* FROM scan_queue_tasks t ${clause} ORDER BY t.id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { total: count as number, tasks };
  }

  /** One page of a task's status history, newest first (scan_statuses_task_id_id_idx). */
  async statusPage(
    tx: EntityManager,
    taskId: number,
    page: { limit: number; offset: number },
  ): Promise<{ total: number; statuses: StatusRow[] }> {
    const [{ count }] = await tx.query(
      `SELECT count(*)::int AS count FROM scan_statuses WHERE task_id = $1`,
      [taskId],
    );
    const statuses: StatusRow[] = await tx.query(
      `SELECT ${STATUS_COLUMNS} FROM scan_statuses WHERE task_id = $1
       ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [taskId, page.limit, page.offset],
    );
    return { total: count as number, statuses };
  }

  /**
   * An agent called about its ASSIGNED task: the silence (TASK_SILENCE_SECONDS) counts from now.
   * Not a transition: the status stays.
   */
  async heardFrom(tx: EntityManager, taskId: number): Promise<void> {
    await tx.query(
      `UPDATE scan_queue_tasks SET last_heard_at = now() WHERE id = $1 AND status = ${TaskStatus.ASSIGNED}`,
      [taskId],
    );
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

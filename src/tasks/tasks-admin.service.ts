/**
 * Admin operations on the queue (not in ThreadFix's REST API; its UI had them): list, read, page
 * through history, cancel. Keys are always redacted. A key limited to teams sees its teams' tasks
 * only; any other is missing to it.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { resolveScanner } from '../scans/scanner-types';
import { TaskNotFound, TaskStateConflict } from './task-errors';
import {
  AdminTaskDetailJson,
  AdminTaskJson,
  TaskStatusPageJson,
  toAdminStatus,
  toAdminTask,
  toAdminTaskDetail,
} from './task-json.mapper';
import { ListTasksParams, TaskHistoryParams } from './task-params.dto';
import { TaskStatus } from './task-status';
import { TaskTransitionsRepository } from './task-transitions.repository';
import { TasksRepository } from './tasks.repository';
import { at, badScannerType, SHOWN, STATUSES_SHOWN } from './task-wording';
import { TaskMetrics } from './task-metrics';

/** A list shows each task's latest status only. */
const STATUSES_IN_LISTS = 1;

@Injectable()
export class TasksAdminService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tasks: TasksRepository,
    private readonly transitions: TaskTransitionsRepository,
    private readonly metrics: TaskMetrics,
  ) {}

  /** Tasks newest first, each with its latest status only, within the caller's teams. */
  async listTasks(
    scope: TeamScope,
    params: ListTasksParams,
  ): Promise<{ total: number; page: number; pageSize: number; tasks: AdminTaskJson[] }> {
    const page = params.page ?? 1;
    const pageSize = params.pageSize ?? 50;
    let scanner: string | undefined;
    if (params.scanner !== undefined) {
      scanner = resolveScanner(params.scanner)?.displayName;
      if (!scanner) throw badScannerType(params.scanner);
    }
    const manager = this.dataSource.manager;
    const { total, tasks } = await this.tasks.list(manager, {
      scope,
      status: params.status,
      applicationId: params.applicationId,
      scanner,
      offset: (page - 1) * pageSize,
      limit: pageSize,
    });
    const views = await this.tasks.loadViews(manager, tasks, { statuses: STATUSES_IN_LISTS });
    return { total, page, pageSize, tasks: views.map((view) => toAdminTask(view, false)) };
  }

  /** One task with its latest status rows and their total (out of the caller's teams: missing). */
  async getTask(scope: TeamScope, id: number): Promise<AdminTaskDetailJson> {
    const manager = this.dataSource.manager;
    const task = await this.tasks.findTask(manager, id, { lock: false, scope });
    if (!task) throw new TaskNotFound(id);
    return toAdminTaskDetail(await this.tasks.loadView(manager, task, { ...SHOWN, count: true }));
  }

  /** A page of a task's status history, newest first. */
  async taskHistory(
    scope: TeamScope,
    id: number,
    params: TaskHistoryParams,
  ): Promise<TaskStatusPageJson> {
    const page = params.page ?? 1;
    const pageSize = params.pageSize ?? STATUSES_SHOWN;
    // One snapshot: the total and the page agree while the agent posts.
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      const task = await this.tasks.findTask(tx, id, { lock: false, scope });
      if (!task) throw new TaskNotFound(id);
      const { total, statuses } = await this.tasks.statusPage(tx, id, {
        limit: pageSize,
        offset: (page - 1) * pageSize,
      });
      return { total, page, pageSize, statuses: statuses.map(toAdminStatus) };
    });
  }

  /** QUEUED or ASSIGNED → COMPLETE_DELETED; the agent learns it on its next call (409). */
  async cancelTask(caller: AuthenticatedCaller, id: number): Promise<AdminTaskDetailJson> {
    return this.dataSource.transaction(async (tx) => {
      // Locked: the task cannot leave the caller's teams or change state before the transition.
      const task = await this.tasks.findTask(tx, id, { lock: true, scope: caller });
      if (!task) throw new TaskNotFound(id);
      const cancelled = await this.transitions.transitionTask(
        tx,
        id,
        TaskStatus.COMPLETE_DELETED,
        `Task cancelled by an administrator at: ${at()}`,
        { type: 'api_key', id: caller.apiKeyId },
      );
      if (!cancelled) throw new TaskStateConflict(task);
      this.metrics.taskFinished(TaskStatus.COMPLETE_DELETED);
      return toAdminTaskDetail(await this.tasks.loadView(tx, cancelled, { ...SHOWN, count: true }));
    });
  }
}

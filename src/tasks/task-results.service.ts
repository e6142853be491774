/**
 * completeTask, an agent's result upload: the file streams from the request through the inspector
 * (scans/scan-upload.ts, the path direct uploads take too) into a temporary file; the task turns
 * COMPLETE_SUCCESSFUL only after that file is durable; one transaction then records the scan and
 * moves the task. The upload takes a slot of its API key before the body is read, and one of its
 * agent key when that key comes before the file (UploadSlots; 429 when none is free).
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { hashSecretKey } from '../auth/secret-keys';
import { AppConfig } from '../config/app-config';
import { stopwatch } from '../observability/metrics.service';
import { ScannerMismatch } from '../scans/scan-file-inspector';
import { BeforeScanFile, ScanIntakeSession } from '../scans/scan-upload';
import { resolveScanner, ScannerType } from '../scans/scanner-types';
import { ReleaseSlot, UploadSlots } from '../scans/upload-slots';
import { TaskStateConflict } from './task-errors';
import { ThreadFixTaskJson, toThreadFixTask } from './task-json.mapper';
import { CompleteTaskParams } from './task-params.dto';
import { TaskRow } from './task-rows';
import { TaskStatus } from './task-status';
import { TaskTransitionsRepository } from './task-transitions.repository';
import { agentActor, TaskAccess } from './task-access';
import { TasksRepository } from './tasks.repository';
import { at, SHOWN } from './task-wording';
import { TaskMetrics } from './task-metrics';

/** The keys that must come before the file for it to be checked before it is read. */
export const TASK_KEYS = ['scanQueueTaskId', 'secureTaskKey', 'scanAgentSecureKey'] as const;

/** One completeTask call: its upload slots, its clock, and the task as checked before the file. */
export class ResultUpload {
  readonly elapsed = stopwatch();
  checked?: TaskRow;
  private readonly slots: ReleaseSlot[] = [];

  hold(slot: ReleaseSlot): void {
    this.slots.push(slot);
  }

  release(): void {
    for (const release of this.slots) release();
  }
}

@Injectable()
export class TaskResultsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly access: TaskAccess,
    private readonly tasks: TasksRepository,
    private readonly transitions: TaskTransitionsRepository,
    private readonly metrics: TaskMetrics,
    private readonly uploadSlots: UploadSlots,
  ) {}

  /** Takes the caller's API-key slot before the body is read; release() when the call ends. */
  begin(caller: AuthenticatedCaller): ResultUpload {
    const upload = new ResultUpload();
    upload.hold(this.uploadSlots.forApiKey(caller.apiKeyId));
    return upload;
  }

  /**
   * When the task's keys came before the file (as ThreadFix's agent and `curl -F` send them) they
   * are checked first, so a refused call does not cost a full upload and a repeat is not stored
   * again (its file is read and dropped).
   */
  async beforeFile(
    caller: AuthenticatedCaller,
    upload: ResultUpload,
    before: Record<string, unknown>,
    params?: CompleteTaskParams,
  ): Promise<BeforeScanFile> {
    if (typeof before.scanAgentSecureKey === 'string')
      upload.hold(this.uploadSlots.forAgent(hashSecretKey(before.scanAgentSecureKey)));
    if (!params) return {};
    const { task } = await this.dataSource.transaction((tx) =>
      this.access.verify(tx, caller, params, { lock: false }),
    );
    upload.checked = task;
    if (task.status === TaskStatus.COMPLETE_SUCCESSFUL) return { skip: true };
    if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
    return { expectedScanner: resolveScanner(task.scanner) };
  }

  /**
   * The staged file is made durable (fsync and rename, or S3's completion) before the task's row
   * is locked, so no lock or pooled connection waits on storage; the unlocked check of the keys
   * gates it. A file the locked check then refuses, or finds already stored by a repeat, is removed
   * again (ScanIntake.run).
   */
  async completeTask(
    caller: AuthenticatedCaller,
    params: CompleteTaskParams,
    scan: ScanIntakeSession,
    upload: ResultUpload,
  ): Promise<ThreadFixTaskJson> {
    const file = scan.file;
    if (file) {
      const task =
        upload.checked ??
        (
          await this.dataSource.transaction((tx) =>
            this.access.verify(tx, caller, params, { lock: false }),
          )
        ).task;
      if (task.status === TaskStatus.ASSIGNED) {
        this.checkScanner(file.inspection.scanner, task);
        await scan.commit();
      }
    }
    return this.dataSource.transaction(async (tx) => {
      const { task, agent, keys } = await this.access.verify(tx, caller, params, { lock: true });
      // A repeat from the same agent (its first response was lost): the task as it is, nothing imported again.
      if (task.status === TaskStatus.COMPLETE_SUCCESSFUL)
        return toThreadFixTask(await this.tasks.loadView(tx, task, SHOWN), keys);
      if (task.status !== TaskStatus.ASSIGNED) throw new TaskStateConflict(task);
      if (!file) throw new Error('completeTask: file received without an upload');
      await scan.record(tx, task.application_id, { taskId: task.id });
      const completed = await this.transitions.transitionTask(
        tx,
        task.id,
        TaskStatus.COMPLETE_SUCCESSFUL,
        `Scan completed successfully at: ${at()}`,
        agentActor(agent),
      );
      if (!completed) throw new TaskStateConflict(task);
      this.metrics.uploadObserved(file.inspection.sizeBytes, upload.elapsed());
      return toThreadFixTask(await this.tasks.loadView(tx, completed, SHOWN), keys);
    });
  }

  private checkScanner(detected: ScannerType, task: TaskRow): void {
    const expected = resolveScanner(task.scanner);
    if (
      this.config.REQUIRE_MATCHING_SCANNER &&
      expected &&
      detected.shortName !== expected.shortName
    )
      throw new ScannerMismatch(detected, expected);
  }
}

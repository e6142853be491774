/**
 * The one place that decides what a task looks like on the wire: ThreadFix's ScanQueueTask JSON
 * (the seed page's fields, in its order) and the Task payload requestTask hands an agent.
 * Secrets are stored hashed, so the keys appear only when the caller presented them itself.
 */
import { ApiProperty } from '@nestjs/swagger';
import type { AgentTask, AgentTaskConfig } from '@scanqueue/wire';
import { resolveScanner } from '../scans/scanner-types';
import { ScanConfigRow, StatusRow, TaskRow } from './task-rows';
import { statusString, taskStatusConstant } from './task-status';

export class ScanStatusJson {
  @ApiProperty() id!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty() message!: string;
  @ApiProperty({ description: 'epoch ms (scanqueue addition)' }) timestamp!: number;
}

export class ScanConfigJson {
  @ApiProperty() id!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty({ example: 'burp' }) name!: string;
  @ApiProperty({ example: 'scanagtcfg' }) type!: string;
  @ApiProperty({ example: 'application/octet-stream' }) contentType!: string;
  @ApiProperty({ description: 'epoch ms' }) uploadedDate!: number;
}

export class ThreadFixTaskJson {
  @ApiProperty() id!: number;
  @ApiProperty() active!: boolean;
  @ApiProperty({ type: [ScanStatusJson] }) scanStatuses!: ScanStatusJson[];
  @ApiProperty({ example: 'Burp Suite Pro' }) scanner!: string;
  @ApiProperty({ nullable: true, type: String, example: null }) version!: string | null;
  @ApiProperty({ description: 'epoch ms' }) createTime!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) startTime!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) endTime!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms; claim time + timeout' })
  timeoutTime!: number | null;
  @ApiProperty({ description: '1 QUEUED … 7 UNKNOWN' }) status!: number;
  @ApiProperty({ nullable: true, type: String }) scanAgentInfo!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'only echoed to the agent that presented it',
  })
  secureKey!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'only echoed to the agent that presented it',
  })
  scanAgentInstanceSecureKey!: string | null;
  @ApiProperty({ nullable: true, type: ScanConfigJson }) scanConfig!: ScanConfigJson | null;
  @ApiProperty({ nullable: true, type: String }) targetUrl!: string | null;
  @ApiProperty({ example: 'STATUS_COMPLETE_SUCCESSFUL' }) taskStatus!: string;
  @ApiProperty({ nullable: true, type: String, example: 'burp' }) scannerShortName!: string | null;
  @ApiProperty({ example: 'COMPLETE_SUCCESSFUL' }) statusString!: string;
}

export interface TaskView {
  task: TaskRow;
  /** The latest status rows only, oldest first (tasks.repository.ts loadViews). */
  statuses: StatusRow[];
  /** How many status rows the task has in all, when counted. */
  statusCount?: number;
  scanConfig: ScanConfigRow | null;
  applicationUrl: string | null;
}

/** Keys the caller itself presented on this request, which may be echoed back to it. */
export interface PresentedKeys {
  secureTaskKey: string;
  scanAgentSecureKey: string;
}

export function toScanConfigJson(config: ScanConfigRow): ScanConfigJson {
  return {
    id: config.id,
    active: true,
    name: config.scanner_short_name,
    type: 'scanagtcfg',
    contentType: config.content_type,
    uploadedDate: config.uploaded_at.getTime(),
  };
}

export function toThreadFixTask(view: TaskView, presented?: PresentedKeys): ThreadFixTaskJson {
  const { task } = view;
  return {
    id: task.id,
    active: task.active,
    scanStatuses: view.statuses.map((status) => ({
      id: Number(status.id),
      active: status.active,
      message: status.message,
      timestamp: status.created_at.getTime(),
    })),
    scanner: task.scanner,
    version: null,
    createTime: task.created_at.getTime(),
    startTime: task.start_time?.getTime() ?? null,
    endTime: task.end_time?.getTime() ?? null,
    timeoutTime: task.timeout_time?.getTime() ?? null,
    status: task.status,
    // ThreadFix filled this with a placeholder; the agent's host details stay in the admin view.
    scanAgentInfo: null,
    secureKey: presented?.secureTaskKey ?? null,
    scanAgentInstanceSecureKey: presented?.scanAgentSecureKey ?? null,
    scanConfig: view.scanConfig ? toScanConfigJson(view.scanConfig) : null,
    targetUrl: task.target_url || view.applicationUrl,
    taskStatus: taskStatusConstant(task.status),
    scannerShortName: resolveScanner(task.scanner)?.shortName ?? null,
    statusString: statusString(task.status),
  };
}

export class TaskConfigJson implements AgentTaskConfig {
  @ApiProperty() targetUrl!: string;
  @ApiProperty() targetUrlString!: string;
  @ApiProperty({
    description: '{ configFile: base64 } when the application has a config for the scanner',
  })
  dataBlobs!: Record<string, string>;
  @ApiProperty() configParams!: Record<string, string>;
}

export class AgentTaskJson implements AgentTask {
  @ApiProperty() taskId!: number;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) taskType!: string;
  @ApiProperty() taskConfig!: TaskConfigJson;
  @ApiProperty() secureTaskKey!: string;
  @ApiProperty() secureScanAgentInstanceKey!: string;
}

export function toAgentTask(
  task: Pick<TaskRow, 'id' | 'scanner'>,
  targetUrl: string,
  configFile: Buffer | null,
  keys: PresentedKeys,
): AgentTaskJson {
  return {
    taskId: task.id,
    taskType: task.scanner,
    taskConfig: {
      targetUrl,
      targetUrlString: targetUrl,
      dataBlobs: configFile ? { configFile: configFile.toString('base64') } : {},
      configParams: {},
    },
    secureTaskKey: keys.secureTaskKey,
    secureScanAgentInstanceKey: keys.scanAgentSecureKey,
  };
}

export class AdminStatusJson extends ScanStatusJson {
  @ApiProperty({ nullable: true, type: Number }) fromStatus!: number | null;
  @ApiProperty({ nullable: true, type: Number }) toStatus!: number | null;
  @ApiProperty({ enum: ['api_key', 'agent', 'system'] }) actorType!: string;
  @ApiProperty({ nullable: true, type: Number }) actorId!: number | null;
}

/**
 * A task as admins see it: ThreadFix's JSON (keys redacted) plus what ThreadFix hid. In a list, its
 * latest status only (statusHistory empty).
 */
export class AdminTaskJson extends ThreadFixTaskJson {
  @ApiProperty() applicationId!: number;
  @ApiProperty({ nullable: true, type: Number }) scanAgentId!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'agentConfig sent with the claim' })
  agentConfig!: string | null;
  @ApiProperty() timeoutSeconds!: number;
  @ApiProperty({ description: 'higher is claimed first (-100..100)' }) priority!: number;
  @ApiProperty({ description: '1-based attempt of this task (a retry is a new task)' })
  attempt!: number;
  @ApiProperty({ description: 'the most attempts its retry policy allows (retryLimit + 1)' })
  attempts!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'the task this one retries' })
  retryOfTaskId!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'a retry is not claimed before (ms)' })
  notBefore!: number | null;
  @ApiProperty({
    type: [AdminStatusJson],
    description:
      'the latest status rows (who, when, from → to), oldest first; empty in lists. GET tasks/{id}/statuses pages through all of them',
  })
  statusHistory!: AdminStatusJson[];
}

/** One task: its latest status rows and how many it has in all. */
export class AdminTaskDetailJson extends AdminTaskJson {
  @ApiProperty({
    description: 'status rows the task has in all (statusHistory and scanStatuses show the latest)',
  })
  statusCount!: number;
}

export function toAdminStatus(status: StatusRow): AdminStatusJson {
  return {
    id: Number(status.id),
    active: status.active,
    message: status.message,
    timestamp: status.created_at.getTime(),
    fromStatus: status.from_status,
    toStatus: status.to_status,
    actorType: status.actor_type,
    actorId: status.actor_id,
  };
}

export function toAdminTask(view: TaskView, withHistory: boolean): AdminTaskJson {
  return {
    ...toThreadFixTask(view),
    applicationId: view.task.application_id,
    scanAgentId: view.task.scan_agent_id,
    agentConfig: view.task.scan_agent_info,
    timeoutSeconds: view.task.timeout_seconds,
    priority: view.task.priority,
    attempt: view.task.attempt,
    attempts: view.task.retry_limit + 1,
    retryOfTaskId: view.task.retry_of_task_id,
    notBefore: view.task.not_before?.getTime() ?? null,
    statusHistory: withHistory ? view.statuses.map(toAdminStatus) : [],
  };
}

export function toAdminTaskDetail(view: TaskView): AdminTaskDetailJson {
  return { ...toAdminTask(view, true), statusCount: view.statusCount ?? view.statuses.length };
}

export class TaskStatusPageJson {
  @ApiProperty() total!: number;
  @ApiProperty() page!: number;
  @ApiProperty() pageSize!: number;
  @ApiProperty({ type: [AdminStatusJson], description: 'newest first' })
  statuses!: AdminStatusJson[];
}

/** The checks every call on a claimed task makes before it touches the task. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ApplicationEntity } from '../applications/application.entity';
import { ApplicationNotFound } from '../applications/applications.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { secretKeyMatches } from '../auth/secret-keys';
import { BadRestParameter } from '../rest/rest-error';
import type { AgentRow } from '../scan-agents/scan-agents.repository';
import { MISSING_AGENT_KEY, ScanAgentsService } from '../scan-agents/scan-agents.service';
import { PresentedKeys } from './task-json.mapper';
import { TaskKeyParams } from './task-params.dto';
import { TaskRow } from './task-rows';
import { Actor } from './task-transitions.repository';
import { MissingTaskKey, TaskKeyMismatch, TaskNotFound } from './task-errors';
import { TasksRepository } from './tasks.repository';
import { TaskStatus } from './task-status';

export interface TaskAccessGranted {
  task: TaskRow;
  agent: AgentRow;
  keys: PresentedKeys;
}

export const agentActor = (agent: AgentRow): Actor => ({ type: 'agent', id: agent.id });

@Injectable()
export class TaskAccess {
  constructor(
    private readonly agents: ScanAgentsService,
    private readonly tasks: TasksRepository,
  ) {}

  /**
   * In order: both keys present (400), the agent key issued by the calling API key and neither
   * revoked (403), the task exists, is in the key's teams and is held by this agent (404: one
   * answer for all three, so an agent cannot probe which task ids exist or whose they are), and the
   * task key is the one issued with the claim (403).
   */
  async verify(
    tx: EntityManager,
    caller: AuthenticatedCaller,
    params: TaskKeyParams,
    options: { lock: boolean },
  ): Promise<TaskAccessGranted> {
    if (!params.secureTaskKey) throw new MissingTaskKey();
    if (!params.scanAgentSecureKey) throw new BadRestParameter(MISSING_AGENT_KEY);
    const agent = await this.agents.authenticate(params.scanAgentSecureKey, caller.apiKeyId, tx);
    const task = await this.tasks.findTask(tx, params.scanQueueTaskId, {
      lock: options.lock,
      scope: caller,
    });
    if (!task || task.scan_agent_id !== agent.id) throw new TaskNotFound(params.scanQueueTaskId);
    if (!secretKeyMatches(params.secureTaskKey, task.secure_key_hash)) throw new TaskKeyMismatch();
    // Every authenticated call is a sign of life of the agent, and of its task (TASK_SILENCE_SECONDS).
    await this.agents.recordSeen(tx, agent.id, undefined);
    if (task.status === TaskStatus.ASSIGNED) await this.tasks.heardFrom(tx, task.id);
    return {
      task,
      agent,
      keys: { secureTaskKey: params.secureTaskKey, scanAgentSecureKey: params.scanAgentSecureKey },
    };
  }

  /** An active application in the caller's teams; any other is missing (the same 404). */
  async activeApplication(
    tx: EntityManager,
    id: number,
    scope: TeamScope,
  ): Promise<ApplicationEntity> {
    const app = await this.tasks.applicationInScope(tx, id, scope);
    if (!app || !app.active) throw new ApplicationNotFound(id);
    return app;
  }
}

/**
 * Who hears how an import run of a task's scan ended, in the run's own transaction: the modules
 * above imports (tasks writes it into the task's history) register here, so imports never imports
 * them. A direct upload's outcome goes to its upload history inside imports (no listener).
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export interface TaskImportOutcome {
  taskId: number;
  scanId: number;
  phase: 'done' | 'failed';
  /** The run's summary or its error, as the history shows it. */
  message: string;
}

export type TaskImportOutcomeListener = (
  tx: EntityManager,
  outcome: TaskImportOutcome,
) => Promise<void>;

@Injectable()
export class ImportOutcomeListeners {
  private readonly listeners: TaskImportOutcomeListener[] = [];

  register(listener: TaskImportOutcomeListener): void {
    this.listeners.push(listener);
  }

  async notify(tx: EntityManager, outcome: TaskImportOutcome): Promise<void> {
    for (const listener of this.listeners) await listener(tx, outcome);
  }
}

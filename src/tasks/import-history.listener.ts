/**
 * Writes how the import of a task's scan ended into the task's history (a note on the completed
 * task), in the import run's transaction: tasks sits above imports and registers with it.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ImportOutcomeListeners } from '../imports/import-outcome.listeners';
import { TaskTransitionsRepository } from './task-transitions.repository';

@Injectable()
export class ImportHistoryListener implements OnModuleInit {
  constructor(
    private readonly listeners: ImportOutcomeListeners,
    private readonly transitions: TaskTransitionsRepository,
  ) {}

  onModuleInit(): void {
    this.listeners.register(async (tx, outcome) => {
      await this.transitions.appendCompletedTaskNote(tx, outcome.taskId, outcome.message);
    });
  }
}

/**
 * The transition statements as plain functions, for callers outside Nest's injection that still
 * name them here (the reaper, the import runner). The SQL is TaskTransitionsRepository's.
 */
import { EntityManager } from 'typeorm';
import { TaskTransitionsRepository } from './task-transitions.repository';

const transitions = new TaskTransitionsRepository();

export const timeOutOverdueTasks = (tx: EntityManager, limit: number): Promise<number[]> =>
  transitions.timeOutOverdueTasks(tx, limit);

export const appendCompletedTaskNote = (
  tx: EntityManager,
  taskId: number,
  message: string,
): Promise<boolean> => transitions.appendCompletedTaskNote(tx, taskId, message);

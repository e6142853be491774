import { ALLOWED_TRANSITIONS, isFinal, sourcesOf } from './task-state';
import { TaskStatus, TERMINAL_STATUSES } from './task-status';

const { QUEUED, ASSIGNED, COMPLETE_SUCCESSFUL } = TaskStatus;
const {
  COMPLETE_DELETED: DELETED,
  COMPLETE_TIMEDOUT: TIMEDOUT,
  COMPLETE_FAILED: FAILED,
} = TaskStatus;

describe('task state machine', () => {
  it('lets a queued task be claimed, cancelled or expired only', () => {
    expect(ALLOWED_TRANSITIONS[QUEUED]).toEqual([ASSIGNED, DELETED, TIMEDOUT]);
  });

  it('lets an assigned task end in any of the four ways', () => {
    expect([...ALLOWED_TRANSITIONS[ASSIGNED]].sort()).toEqual(
      [COMPLETE_SUCCESSFUL, DELETED, TIMEDOUT, FAILED].sort(),
    );
  });

  it('names the sources of each move', () => {
    expect(sourcesOf(ASSIGNED)).toEqual([QUEUED]);
    expect(sourcesOf(DELETED)).toEqual([QUEUED, ASSIGNED]);
    expect(sourcesOf(COMPLETE_SUCCESSFUL)).toEqual([ASSIGNED]);
    expect(sourcesOf(TIMEDOUT)).toEqual([QUEUED, ASSIGNED]);
    expect(sourcesOf(QUEUED)).toEqual([]);
  });

  it('keeps terminal statuses final, and they are exactly the ones entered but never left', () => {
    for (const status of TERMINAL_STATUSES) expect(isFinal(status)).toBe(true);
    const enteredNeverLeft = Object.values(TaskStatus)
      .filter((value): value is TaskStatus => typeof value === 'number')
      .filter((status) => isFinal(status) && sourcesOf(status).length > 0);
    expect([...enteredNeverLeft].sort()).toEqual([...TERMINAL_STATUSES].sort());
    expect(isFinal(QUEUED)).toBe(false);
    expect(isFinal(ASSIGNED)).toBe(false);
  });
});

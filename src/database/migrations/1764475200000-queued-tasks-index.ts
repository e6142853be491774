import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The claim (task-transitions.ts claimNextTask) orders by id across several scanners
 * (`scanner = ANY($1)`), which scan_queue_tasks_claimable_idx (scanner, id) cannot serve in order:
 * the planner walked the primary key through every finished task (904 ms with 1,000,000 of them).
 * This index holds queued tasks only, in id order, so a claim costs the same whatever the history.
 */
export class QueuedTasksIndex1764475200000 implements MigrationInterface {
  name = 'QueuedTasksIndex1764475200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX scan_queue_tasks_queued_idx ON scan_queue_tasks (id) WHERE status = 1 AND active`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX scan_queue_tasks_queued_idx`);
  }
}

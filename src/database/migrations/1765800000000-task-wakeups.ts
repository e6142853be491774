import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wake-ups for long-polling agents (issue 15; src/wakeups/): every task that becomes QUEUED (a
 * queueScan's insert, a retry or requeue by any code path) sends a NOTIFY on
 * `scanqueue_task_queued` from this trigger, so the tasks code needs no change and no path can
 * forget it. NOTIFY is transactional: listeners hear it when the transaction commits, never when
 * it rolls back. The payload is small JSON: the task id (which also keeps PostgreSQL from folding
 * the notifications of several tasks of one transaction into one), its scanner, and its
 * not_before in epoch milliseconds when that column exists and is set (read through to_jsonb, so
 * the trigger does not depend on the column), for the listener to wake a waiter when it passes.
 */
export class TaskWakeups1765800000000 implements MigrationInterface {
  name = 'TaskWakeups1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION scan_queue_tasks_notify_queued() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        not_before text := to_jsonb(NEW) ->> 'not_before';
      BEGIN
        IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
          PERFORM pg_notify('scanqueue_task_queued', json_build_object(
            'id', NEW.id,
            'scanner', NEW.scanner,
            'notBefore', floor(extract(epoch FROM not_before::timestamptz) * 1000)::bigint
          )::text);
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER scan_queue_tasks_notify_queued
      AFTER INSERT OR UPDATE OF status ON scan_queue_tasks
      FOR EACH ROW WHEN (NEW.status = 1)
      EXECUTE FUNCTION scan_queue_tasks_notify_queued()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER scan_queue_tasks_notify_queued ON scan_queue_tasks`);
    await q.query(`DROP FUNCTION scan_queue_tasks_notify_queued()`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deactivating an application (or soft-deleting its team, which deactivates its applications)
 * removes its schedules in the same transaction, as ThreadFix's deactivateApplication did
 * (docs: threadfix-scheduled-scans "Cascade"). A trigger rather than a call from applications/
 * and teams/ into schedules/: every path that deactivates (REST, ThreadFix's admin API, NATS, a
 * team's delete) is covered, and the lower modules need not know schedules exist. A hard delete
 * was already covered by the foreign key's ON DELETE CASCADE.
 */
export class SchedulesFollowApplications1765950000000 implements MigrationInterface {
  name = 'SchedulesFollowApplications1765950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION applications_drop_schedules() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM scheduled_scans WHERE application_id = NEW.id;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER applications_drop_schedules
      AFTER UPDATE OF active ON applications
      FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
      EXECUTE FUNCTION applications_drop_schedules()`);
    // Schedules of applications deactivated before this migration.
    await q.query(
      `DELETE FROM scheduled_scans s USING applications a
        WHERE a.id = s.application_id AND NOT a.active`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER applications_drop_schedules ON applications`);
    await q.query(`DROP FUNCTION applications_drop_schedules()`);
  }
}

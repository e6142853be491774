/**
 * All SQL of scanner queues' pauses (scanner_queues): the open-queue check the claim embeds,
 * pausing and resuming with their events, and the queues' view. A queue is a scanner's QUEUED
 * tasks; scanners are named here by display name, as tasks store them.
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { applicationInScopeSql } from '../auth/team-scope.repository';
import { claimableAgainSql, fleetOutboxInsert, queueEventType } from './fleet-events';
import { PauseOutcome } from './scan-agents.repository';

/** scan_queue_tasks.status of a QUEUED task (tasks/task-status.ts, which this module cannot import). */
const QUEUED = 1;

/** The scanners whose queues are paused, evaluated once per statement (an InitPlan). */
const PAUSED_SCANNERS = `ARRAY(SELECT q.scanner FROM scanner_queues q WHERE q.paused_at IS NOT NULL)`;

/**
 * SQL: the asked-for scanners (`scannersParam`, display names) whose queues are not paused, as an
 * array, for a claim to match its candidates against (`scanner = ANY(...)`). Testing each row
 * against the paused ones instead (`scanner <> ALL (...)`) is a predicate PostgreSQL cannot
 * estimate: with one scanner in the queue it expected one row of thousands, and sorted the whole
 * queue (3.3 ms for 10,000 tasks) instead of reading the index in order (0.2 ms).
 */
export function openScannersSql(scannersParam: string): string {
  return `ARRAY(SELECT asked.scanner FROM unnest(${scannersParam}::text[]) asked(scanner)
    WHERE asked.scanner <> ALL (${PAUSED_SCANNERS}))`;
}

export interface ScannerQueueRow {
  scanner: string;
  paused_at: Date | null;
  changed_at: Date | null;
  queued: number;
  /** Seconds the oldest QUEUED task has waited, by the database's clock; null when none waits. */
  oldest_age_seconds: number | null;
}

@Injectable()
export class ScannerQueuesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Each scanner's queue, in the order given: paused or not, and its QUEUED tasks in the scope
   * (count and oldest) from scan_queue_tasks_claimable_idx (scanner, id) WHERE status = 1 AND active.
   */
  list(scanners: readonly string[], scope: TeamScope): Promise<ScannerQueueRow[]> {
    return this.dataSource.query(
      `SELECT s.scanner, q.paused_at, q.changed_at,
              coalesce(w.queued, 0) AS queued,
              extract(epoch FROM now() - w.oldest_queued_at)::float8 AS oldest_age_seconds
       FROM unnest($1::text[]) WITH ORDINALITY s(scanner, position)
       LEFT JOIN scanner_queues q ON q.scanner = s.scanner
       LEFT JOIN LATERAL (
         SELECT count(*)::int AS queued, min(t.created_at) AS oldest_queued_at
         FROM scan_queue_tasks t
         WHERE t.status = ${QUEUED} AND t.active AND t.scanner = s.scanner
           AND ${applicationInScopeSql('$2', 't.application_id')}
       ) w ON true
       ORDER BY s.position`,
      [scanners, teamScopeParam(scope)],
    );
  }

  /**
   * Pauses (or resumes) a scanner's queue, with its event in the same statement; a queue already
   * so changes nothing and raises no event.
   */
  async setPaused(
    scanner: { displayName: string; shortName: string },
    paused: boolean,
    actorApiKeyId: number,
  ): Promise<PauseOutcome> {
    const [outcome]: PauseOutcome[] = await this.dataSource.query(
      `WITH changed AS (
         INSERT INTO scanner_queues AS q (scanner, paused_at, changed_at)
         SELECT $1, now(), now() WHERE $3
         ON CONFLICT (scanner) DO UPDATE SET paused_at = now(), changed_at = now()
           WHERE q.paused_at IS NULL
         RETURNING q.scanner, q.paused_at
       ), resumed AS (
         UPDATE scanner_queues q SET paused_at = NULL, changed_at = now()
         WHERE q.scanner = $1 AND NOT $3 AND q.paused_at IS NOT NULL
         RETURNING q.scanner, q.paused_at
       ), moved AS (
         SELECT * FROM changed UNION ALL SELECT * FROM resumed
       ), outbox AS (
         ${fleetOutboxInsert(
           queueEventType(paused),
           'moved',
           '0',
           `'queue', jsonb_build_object('scanner', f.scanner, 'scannerShortName', $2::text, 'pausedAt', f.paused_at)`,
           '$4',
         )}
       )
       SELECT true AS found, EXISTS (SELECT 1 FROM moved) AS changed,
         (SELECT string_agg(${claimableAgainSql('r.scanner')}, '') FROM resumed r) AS notified`,
      [scanner.displayName, scanner.shortName, paused, actorApiKeyId],
    );
    return outcome;
  }

  /** Scanner queues paused now (the fleet gauge). */
  async pausedCount(): Promise<number> {
    const [row]: { paused: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS paused FROM scanner_queues WHERE paused_at IS NOT NULL`,
    );
    return row.paused;
  }
}

/**
 * All SQL of an import run, written out so the locking is visible: queueing (in the transaction
 * that records the scan, beside its job), the runnable imports, the claim, the lease, the findings' batched INSERT, the set-based merge, and the
 * end of a run. Guarded UPDATEs are wrapped in `WITH … SELECT` so the driver returns their rows
 * (TypeORM answers a bare UPDATE with [rows, count]). Every write of a run is fenced by its attempt number: an instance that lost its
 * lease (its heartbeat stopped long enough for another instance to take over) cannot finish it.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { resolveScanner } from '../scans/scanner-types';
import type { ScanImportJob } from '../scans/scan-import-job';
import type { NormalizedFinding } from '../scans/formats';

/** What a claimed run needs: its import row and its scan. */
export interface ClaimedImport {
  id: number;
  scanId: number;
  applicationId: number;
  scanner: string;
  /** The fencing token of this run. */
  attempt: number;
  /** The task whose completeTask stored the scan; null for a direct upload. */
  taskId: number | null;
  storageKey: string;
  sha256: string;
  /** The scan's time: first/last seen and fixed times are scan times, not import times. */
  scannedAt: Date;
}

export interface MergeCounts {
  newCount: number;
  stillPresentCount: number;
  reopenedCount: number;
  fixedCount: number;
}

const UNFINISHED = `('queued', 'parsing', 'merging')`;

/**
 * Import `i` may run now: queued, or running with a lapsed lease (its instance died; $2 is the
 * lease in seconds). Per application, imports run one at a time in scan order: no older scan of
 * its application has an unfinished import (whatever its phase), and no newer one is running with
 * a live lease (scan ids are taken at INSERT but commit in any order).
 */
const RUNNABLE = `i.phase IN ${UNFINISHED}
  AND (i.phase = 'queued' OR i.heartbeat_at IS NULL
       OR i.heartbeat_at < now() - make_interval(secs => $2))
  AND NOT EXISTS (
    SELECT 1 FROM scan_imports other
    WHERE other.application_id = i.application_id AND other.id <> i.id
      AND other.phase IN ${UNFINISHED}
      AND (other.scan_id < i.scan_id
           OR (other.phase <> 'queued'
               AND other.heartbeat_at >= now() - make_interval(secs => $2))))`;

// PostgreSQL text cannot hold NUL; a parser should never produce one, but a report must not fail on it.
const text = (value: string | null): string | null =>
  value === null ? null : value.replace(/\u0000/g, '');

@Injectable()
export class ScanImportsRepository {
  /** Queues the import of a scan, in the transaction that records it; a second call changes nothing. */
  async queue(tx: EntityManager, job: ScanImportJob): Promise<void> {
    await tx.query(
      `INSERT INTO scan_imports (scan_id, application_id, scanner) VALUES ($1, $2, $3)
       ON CONFLICT (scan_id) DO NOTHING`,
      [job.scanId, job.applicationId, resolveScanner(job.scanner)?.shortName ?? job.scanner],
    );
  }

  /**
   * The imports that may run now but have no live run, at most one per application (its oldest):
   * what the sweep sends jobs for (a job lost, a lease lapsed, an import queued by hand).
   */
  runnable(
    tx: EntityManager,
    leaseSeconds: number,
    limit: number,
  ): Promise<{ scanId: number; applicationId: number; scanner: string }[]> {
    return tx.query(
      `SELECT i.scan_id AS "scanId", i.application_id AS "applicationId", i.scanner
       FROM scan_imports i
       WHERE ${RUNNABLE}
       ORDER BY i.scan_id
       LIMIT $1`,
      [limit, leaseSeconds],
    );
  }

  /**
   * Claims the application's next runnable import (RUNNABLE). `FOR UPDATE SKIP LOCKED` lets runs
   * claiming at the same moment pass over the row another one is taking: with the scan order, two
   * imports of one application never run at once. Served by scan_imports_unfinished_idx.
   */
  async claimNextImport(
    tx: EntityManager,
    instanceId: string,
    leaseSeconds: number,
    applicationId: number,
  ): Promise<ClaimedImport | undefined> {
    const rows: {
      id: number;
      scan_id: number;
      application_id: number;
      scanner: string;
      attempts: number;
      task_id: number | null;
      storage_key: string;
      sha256: string;
      stored_at: Date;
    }[] = await tx.query(
      `WITH next AS (
         SELECT i.id FROM scan_imports i
         WHERE i.application_id = $3 AND ${RUNNABLE}
         ORDER BY i.scan_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE scan_imports i
         SET phase = 'parsing', attempts = i.attempts + 1, owner_instance = $1, heartbeat_at = now(),
             started_at = now(), error = NULL
         FROM next WHERE i.id = next.id
         RETURNING i.*
       )
       SELECT c.id, c.scan_id, c.application_id, c.scanner, c.attempts, s.task_id, s.storage_key,
              s.sha256, s.stored_at
       FROM claimed c JOIN scans s ON s.id = c.scan_id`,
      [instanceId, leaseSeconds, applicationId],
    );
    const [row] = rows;
    if (!row) return undefined;
    return {
      id: row.id,
      scanId: row.scan_id,
      applicationId: row.application_id,
      scanner: row.scanner,
      attempt: row.attempts,
      taskId: row.task_id,
      storageKey: row.storage_key,
      sha256: row.sha256,
      scannedAt: row.stored_at,
    };
  }

  /**
   * At boot no run of this instance can be alive: its leases lapse at once, so a restarted instance
   * (same INSTANCE_ID) picks its interrupted imports up without waiting for IMPORT_LEASE_SECONDS.
   */
  async releaseInstanceImports(tx: EntityManager, instanceId: string): Promise<number> {
    const rows: unknown[] = await tx.query(
      `WITH released AS (
         UPDATE scan_imports SET heartbeat_at = NULL
         WHERE owner_instance = $1 AND phase IN ('parsing', 'merging') RETURNING id
       )
       SELECT id FROM released`,
      [instanceId],
    );
    return rows.length;
  }

  /** Lets another instance take a run this one stops (shutdown) without waiting for the lease. */
  async releaseImport(tx: EntityManager, run: ClaimedImport): Promise<void> {
    await tx.query(
      `UPDATE scan_imports SET heartbeat_at = NULL
       WHERE id = $1 AND attempts = $2 AND phase IN ('parsing', 'merging')`,
      [run.id, run.attempt],
    );
  }

  /** Renews the lease (and moves the phase on); false when the run is no longer this one's. */
  async renewLease(tx: EntityManager, run: ClaimedImport, phase?: 'merging'): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `WITH renewed AS (
         UPDATE scan_imports SET heartbeat_at = now(), phase = coalesce($3, phase)
         WHERE id = $1 AND attempts = $2 AND phase IN ('parsing', 'merging') RETURNING id
       )
       SELECT id FROM renewed`,
      [run.id, run.attempt, phase ?? null],
    );
    return rows.length === 1;
  }

  /** A run replaces the scan's findings: those of an earlier completed run (its import run again). */
  async deleteFindings(tx: EntityManager, scanId: number): Promise<void> {
    await tx.query(`DELETE FROM findings WHERE scan_id = $1`, [scanId]);
  }

  /** One multi-row INSERT (unnest of column arrays: one statement, 11 parameters, any batch size). */
  async insertFindings(
    tx: EntityManager,
    scanId: number,
    batch: readonly NormalizedFinding[],
  ): Promise<void> {
    if (batch.length === 0) return;
    await tx.query(
      `INSERT INTO findings (scan_id, scanner, rule_id, name, severity, cwe, url, path, parameter, evidence, fingerprint)
       SELECT $1, * FROM unnest($2::varchar[], $3::text[], $4::text[], $5::varchar[], $6::int[],
                                $7::text[], $8::text[], $9::text[], $10::text[], $11::char(64)[])`,
      [
        scanId,
        batch.map((f) => f.scanner),
        batch.map((f) => text(f.ruleId)),
        batch.map((f) => text(f.name)),
        batch.map((f) => f.severity),
        batch.map((f) => f.cwe),
        batch.map((f) => text(f.url)),
        batch.map((f) => text(f.path)),
        batch.map((f) => text(f.parameter)),
        batch.map((f) => text(f.evidence)),
        batch.map((f) => f.fingerprint),
      ],
    );
  }

  /**
   * The scan this one repeats, if it changes nothing: the newest merged scan of the same application
   * and scanner has the same SHA-256, and no newer scan was merged since (an identical file arriving
   * late, out of order, is merged normally: the merge alone is idempotent). Served by
   * scan_imports_merged_idx.
   */
  async previousIdenticalScan(tx: EntityManager, run: ClaimedImport): Promise<number | null> {
    const rows: { scan_id: number; sha256: string; newer: boolean }[] = await tx.query(
      `SELECT prev.scan_id, s.sha256,
              EXISTS (SELECT 1 FROM scan_imports n
                      WHERE n.application_id = $1 AND n.scanner = $2 AND n.phase = 'done' AND n.scan_id > $3) AS newer
       FROM scan_imports prev JOIN scans s ON s.id = prev.scan_id
       WHERE prev.application_id = $1 AND prev.scanner = $2 AND prev.phase = 'done' AND prev.scan_id < $3
       ORDER BY prev.scan_id DESC
       LIMIT 1`,
      [run.applicationId, run.scanner, run.scanId],
    );
    const [row] = rows;
    return row && !row.newer && row.sha256 === run.sha256 ? row.scan_id : null;
  }

  /** Distinct fingerprints of a scan: what an identical scan would count as still present. */
  async distinctFingerprints(tx: EntityManager, scanId: number): Promise<number> {
    const [{ count }]: { count: number }[] = await tx.query(
      `SELECT count(DISTINCT fingerprint)::int AS count FROM findings WHERE scan_id = $1`,
      [scanId],
    );
    return count;
  }

  /**
   * Serialises the merges of one application until the transaction ends, whatever the claim let
   * through (a lease that lapsed under a slow run): the next merge's statements then see this one's.
   */
  async lockApplicationMerges(tx: EntityManager, applicationId: number): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('scanqueue.import-merge'), $1)`, [
      applicationId,
    ]);
  }

  /**
   * Merges one scan's findings into its application's vulnerabilities, in one statement. "Newer"
   * means a higher scan id (the order completeTask recorded the scans), so the outcome does not
   * depend on the order imports run in:
   * - a fingerprint never seen for this application and scanner → a new, open vulnerability;
   * - seen in a scan newer than the one that fixed it → reopened; otherwise still present;
   * - the newest observation's fields win; first/last seen move only outward;
   * - an open vulnerability last seen in an OLDER scan and absent from this one → fixed by this scan
   *   (an older scan arriving late never fixes what a newer one saw; it can only move an existing
   *   fix back to itself when it too lacks the vulnerability).
   * The CTEs all read the table as it was before the statement (PostgreSQL's rule for
   * data-modifying WITH), so `prior` classifies every fingerprint before the upsert changes it.
   * Re-running the merge of the same scan changes nothing (the DO UPDATE ... WHERE skips rows the
   * scan is inside of, the fixed update only takes rows last seen before it).
   */
  async mergeScanFindings(tx: EntityManager, run: ClaimedImport): Promise<MergeCounts> {
    const reopens = `v.status = 'fixed' AND v.fixed_scan_id < $1`;
    const newest = (column: string) =>
      `${column} = CASE WHEN $1 > v.last_seen_scan_id THEN excluded.${column} ELSE v.${column} END`;
    const rows: MergeCounts[] = await tx.query(
      `WITH seen AS (
         SELECT DISTINCT ON (fingerprint) fingerprint, rule_id, name, severity, cwe, url, path, parameter, evidence
         FROM findings WHERE scan_id = $1
         ORDER BY fingerprint, id
       ), prior AS (
         SELECT seen.fingerprint, v.status, v.fixed_scan_id
         FROM seen LEFT JOIN vulnerabilities v
           ON v.application_id = $2 AND v.scanner = $3 AND v.fingerprint = seen.fingerprint
       ), upserted AS (
         INSERT INTO vulnerabilities AS v (application_id, scanner, fingerprint, status, rule_id, name,
             severity, cwe, url, path, parameter, evidence, first_seen_scan_id, first_seen_at,
             last_seen_scan_id, last_seen_at)
         SELECT $2, $3, fingerprint, 'open', rule_id, name, severity, cwe, url, path, parameter,
                evidence, $1, $4, $1, $4
         FROM seen
         ON CONFLICT (application_id, scanner, fingerprint) DO UPDATE SET
           ${['rule_id', 'name', 'severity', 'cwe', 'url', 'path', 'parameter', 'evidence', 'last_seen_at'].map(newest).join(',\n         ')},
           last_seen_scan_id = greatest(v.last_seen_scan_id, $1),
           first_seen_scan_id = least(v.first_seen_scan_id, $1),
           first_seen_at = CASE WHEN $1 < v.first_seen_scan_id THEN excluded.first_seen_at ELSE v.first_seen_at END,
           status = CASE WHEN ${reopens} THEN 'open' ELSE v.status END,
           reopened_count = v.reopened_count + CASE WHEN ${reopens} THEN 1 ELSE 0 END,
           fixed_scan_id = CASE WHEN ${reopens} THEN NULL ELSE v.fixed_scan_id END,
           fixed_at = CASE WHEN ${reopens} THEN NULL ELSE v.fixed_at END
         WHERE $1 > v.last_seen_scan_id OR $1 < v.first_seen_scan_id
       ), absent AS (
         SELECT v.id, v.status AS was
         FROM vulnerabilities v
         WHERE v.application_id = $2 AND v.scanner = $3 AND v.last_seen_scan_id < $1
           AND (v.status = 'open' OR v.fixed_scan_id > $1)
           -- Probed in findings_scan_id_fingerprint_idx, not in the CTE: fresh findings have no
           -- statistics, and the planner's nested loop over the CTE was quadratic.
           AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.scan_id = $1 AND f.fingerprint = v.fingerprint)
       ), fixed AS (
         UPDATE vulnerabilities v SET status = 'fixed', fixed_scan_id = $1, fixed_at = $4
         FROM absent WHERE v.id = absent.id
         RETURNING absent.was
       )
       SELECT (SELECT count(*) FROM prior WHERE status IS NULL)::int AS "newCount",
              (SELECT count(*) FROM prior v WHERE ${reopens})::int AS "reopenedCount",
              (SELECT count(*) FROM prior v WHERE v.status IS NOT NULL AND NOT (${reopens}))::int AS "stillPresentCount",
              (SELECT count(*) FROM fixed WHERE was = 'open')::int AS "fixedCount"`,
      [run.scanId, run.applicationId, run.scanner, run.scannedAt],
    );
    return rows[0];
  }

  /** The run's end (in the merge's transaction); false when the run is no longer this one's. */
  async finishImport(
    tx: EntityManager,
    run: ClaimedImport,
    outcome: MergeCounts & { findingsCount: number; duplicateOfScanId: number | null },
  ): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `WITH finished AS (
         UPDATE scan_imports
         SET phase = 'done', findings_count = $3, new_count = $4, still_present_count = $5,
             reopened_count = $6, fixed_count = $7, duplicate_of_scan_id = $8, finished_at = clock_timestamp(),
             heartbeat_at = NULL
         WHERE id = $1 AND attempts = $2 AND phase IN ('parsing', 'merging')
         RETURNING id
       )
       SELECT id FROM finished`,
      [
        run.id,
        run.attempt,
        outcome.findingsCount,
        outcome.newCount,
        outcome.stillPresentCount,
        outcome.reopenedCount,
        outcome.fixedCount,
        outcome.duplicateOfScanId,
      ],
    );
    return rows.length === 1;
  }

  /** A failed run: no findings are kept (its transaction rolled back), the error is. */
  async failImport(
    tx: EntityManager,
    run: Pick<ClaimedImport, 'id' | 'attempt'>,
    error: string,
  ): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `WITH failed AS (
         UPDATE scan_imports
         SET phase = 'failed', error = $3, finished_at = clock_timestamp(), heartbeat_at = NULL,
             findings_count = 0, new_count = 0, still_present_count = 0, reopened_count = 0, fixed_count = 0
         WHERE id = $1 AND attempts = $2 AND phase IN ('parsing', 'merging')
         RETURNING id
       )
       SELECT id FROM failed`,
      [run.id, run.attempt, error],
    );
    return rows.length === 1;
  }
}

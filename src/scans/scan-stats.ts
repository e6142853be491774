/**
 * ThreadFix's per-scan statistics, read from a scan's import run and findings. Raw SQL on
 * scan_imports and findings: scans sits below imports in the module graph and knows those tables,
 * not that module. A scan whose import has not finished (or failed) counts zero everywhere.
 */
import { EntityManager } from 'typeorm';
import type { ScanStatJson } from './threadfix-scan.dto';

export interface ScanStatRow {
  id: number;
  application_id: number;
  scanner: string;
  stored_at: Date;
  findings_count: number;
  new_count: number;
  still_present_count: number;
  reopened_count: number;
  fixed_count: number;
  distinct_count: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
  info: number;
}

/**
 * The statistics of an application's scans (newest first) or of some scans. Severity counts are
 * distinct fingerprints, as the merge counts vulnerabilities; served by findings_scan_id_id_idx.
 */
export async function scanStats(
  m: EntityManager,
  where: { applicationId: number } | { scanIds: readonly number[] },
): Promise<ScanStatRow[]> {
  const byApplication = 'applicationId' in where;
  return m.query(
    `SELECT s.id, s.application_id, s.scanner, s.stored_at,
            coalesce(i.findings_count, 0) AS findings_count, coalesce(i.new_count, 0) AS new_count,
            coalesce(i.still_present_count, 0) AS still_present_count,
            coalesce(i.reopened_count, 0) AS reopened_count, coalesce(i.fixed_count, 0) AS fixed_count,
            coalesce(f.distinct_count, 0) AS distinct_count, coalesce(f.critical, 0) AS critical,
            coalesce(f.high, 0) AS high, coalesce(f.medium, 0) AS medium, coalesce(f.low, 0) AS low,
            coalesce(f.info, 0) AS info
     FROM scans s
     LEFT JOIN scan_imports i ON i.scan_id = s.id AND i.phase = 'done'
     LEFT JOIN LATERAL (
       SELECT count(DISTINCT fingerprint)::int AS distinct_count,
              count(DISTINCT fingerprint) FILTER (WHERE severity = 'critical')::int AS critical,
              count(DISTINCT fingerprint) FILTER (WHERE severity = 'high')::int AS high,
              count(DISTINCT fingerprint) FILTER (WHERE severity = 'medium')::int AS medium,
              count(DISTINCT fingerprint) FILTER (WHERE severity = 'low')::int AS low,
              count(DISTINCT fingerprint) FILTER (WHERE severity = 'info')::int AS info
       FROM findings WHERE scan_id = s.id AND i.id IS NOT NULL
     ) f ON true
     WHERE ${byApplication ? 's.application_id = $1' : 's.id = ANY($1::int[])'}
     ORDER BY s.id DESC`,
    [byApplication ? where.applicationId : [...where.scanIds]],
  );
}

/** One scan's statistics in ThreadFix's field names. */
export function toScanStat(row: ScanStatRow): ScanStatJson {
  return {
    id: row.id,
    importTime: row.stored_at.getTime(),
    scannerName: row.scanner,
    numberClosedVulnerabilities: row.fixed_count,
    numberNewVulnerabilities: row.new_count,
    numberOldVulnerabilities: row.still_present_count,
    numberResurfacedVulnerabilities: row.reopened_count,
    numberTotalVulnerabilities: row.distinct_count,
    numberRepeatFindings: row.still_present_count + row.reopened_count,
    numberRepeatResults: Math.max(0, row.findings_count - row.distinct_count),
    numberInfoVulnerabilities: row.info,
    numberLowVulnerabilities: row.low,
    numberMediumVulnerabilities: row.medium,
    numberHighVulnerabilities: row.high,
    numberCriticalVulnerabilities: row.critical,
  };
}

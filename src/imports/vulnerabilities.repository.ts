/** The read side of imports: an application's vulnerabilities, a scan's findings and import run. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { SEVERITIES, Severity } from '../scans/formats';
import type { VulnerabilityStatus } from './vulnerability.entity';
import type { ImportPhase } from '../scans/import-phase';

export interface VulnerabilityFilter {
  applicationId: number;
  severity?: Severity;
  scanner?: string;
  status?: VulnerabilityStatus;
  cwe?: number;
  limit: number;
  offset: number;
}

export interface VulnerabilityRow {
  id: number;
  application_id: number;
  scanner: string;
  fingerprint: string;
  status: VulnerabilityStatus;
  rule_id: string;
  name: string;
  severity: Severity;
  cwe: number | null;
  url: string | null;
  path: string | null;
  parameter: string | null;
  evidence: string | null;
  first_seen_scan_id: number;
  first_seen_at: Date;
  last_seen_scan_id: number;
  last_seen_at: Date;
  fixed_scan_id: number | null;
  fixed_at: Date | null;
  reopened_count: number;
}

export interface FindingRow {
  id: string;
  scan_id: number;
  scanner: string;
  rule_id: string;
  name: string;
  severity: Severity;
  cwe: number | null;
  url: string | null;
  path: string | null;
  parameter: string | null;
  evidence: string | null;
  fingerprint: string;
}

export interface ScanImportRow {
  id: number;
  scan_id: number;
  application_id: number;
  scanner: string;
  phase: ImportPhase;
  attempts: number;
  findings_count: number;
  new_count: number;
  still_present_count: number;
  reopened_count: number;
  fixed_count: number;
  duplicate_of_scan_id: number | null;
  error: string | null;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export type SeverityCounts = Record<Severity, number>;

/** Most severe first, then oldest first: a stable order for paging. */
const SEVERITY_RANK = `array_position(ARRAY['${SEVERITIES.join("','")}']::varchar[], severity)`;

@Injectable()
export class VulnerabilitiesRepository {
  /**
   * One page of an application's vulnerabilities, the total, and counts by severity under the same
   * filters except severity (so the counts show what the severity filter would select). Served by
   * vulnerabilities_application_id_status_severity_idx.
   */
  async listVulnerabilities(
    manager: EntityManager,
    filter: VulnerabilityFilter,
  ): Promise<{ total: number; rows: VulnerabilityRow[]; countsBySeverity: SeverityCounts }> {
    const params: unknown[] = [filter.applicationId];
    const where = ['application_id = $1'];
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`);
    if (filter.scanner !== undefined) where.push(`scanner = $${params.push(filter.scanner)}`);
    if (filter.cwe !== undefined) where.push(`cwe = $${params.push(filter.cwe)}`);
    const facet = where.join(' AND ');
    const counted: { severity: Severity; count: number }[] = await manager.query(
      `SELECT severity, count(*)::int AS count FROM vulnerabilities WHERE ${facet} GROUP BY severity`,
      params,
    );
    const countsBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
    for (const { severity, count } of counted) countsBySeverity[severity] = count;
    if (filter.severity !== undefined) where.push(`severity = $${params.push(filter.severity)}`);
    const clause = where.join(' AND ');
    const total =
      filter.severity !== undefined
        ? countsBySeverity[filter.severity]
        : SEVERITIES.reduce((sum, s) => sum + countsBySeverity[s], 0);
    const rows: VulnerabilityRow[] = await manager.query(
      `SELECT * FROM vulnerabilities WHERE ${clause}
       ORDER BY ${SEVERITY_RANK}, id
       LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { total, rows, countsBySeverity };
  }

  /** One page of a scan's findings in report order. Served by findings_scan_id_id_idx. */
  async listFindings(
    manager: EntityManager,
    scanId: number,
    limit: number,
    offset: number,
  ): Promise<{ total: number; rows: FindingRow[] }> {
    const [{ count }]: { count: number }[] = await manager.query(
      `SELECT count(*)::int AS count FROM findings WHERE scan_id = $1`,
      [scanId],
    );
    const rows: FindingRow[] = await manager.query(
      `SELECT * FROM findings WHERE scan_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
      [scanId, limit, offset],
    );
    return { total: count, rows };
  }

  async findScanImport(manager: EntityManager, scanId: number): Promise<ScanImportRow | undefined> {
    const rows: ScanImportRow[] = await manager.query(
      `SELECT id, scan_id, application_id, scanner, phase, attempts, findings_count, new_count,
              still_present_count, reopened_count, fixed_count, duplicate_of_scan_id, error,
              queued_at, started_at, finished_at
       FROM scan_imports WHERE scan_id = $1`,
      [scanId],
    );
    return rows[0];
  }
}

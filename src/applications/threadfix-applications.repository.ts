/**
 * The SQL of ThreadFix's application calls: the application view (with its team's name and its open
 * vulnerabilities by severity), the lookups by name or uniqueId within a team, the update, and the
 * statistics of its scans (also a Scan's, src/scans). Raw SQL on scans, scan_imports, findings and
 * vulnerabilities: applications sits below scans and imports in the module graph and knows their
 * tables, not their modules. A scan whose import has not finished (or failed) counts zero.
 */
import { EntityManager } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { teamInScopeSql } from '../auth/team-scope.repository';
import { SEVERITY_COUNTS_SQL, type SeverityCountsRow } from '../teams/teams.repository';

export interface ApplicationViewRow extends SeverityCountsRow {
  id: number;
  name: string;
  url: string | null;
  description: string | null;
  active: boolean;
  team_id: number;
  team_name: string;
  team_active: boolean;
  unique_id: string | null;
  criticality: number;
  created_at: Date;
  updated_at: Date;
}

/** One application of a team the scope reaches, with its team and open vulnerabilities by severity. */
export async function findApplicationView(
  m: EntityManager,
  id: number,
  scope: TeamScope,
): Promise<ApplicationViewRow | undefined> {
  // Counts served by vulnerabilities_application_id_status_severity_idx.
  const rows: ApplicationViewRow[] = await m.query(
    `SELECT a.id, a.name, a.url, a.description, a.active, a.team_id, t.name AS team_name,
            t.active AS team_active, a.unique_id, a.criticality, a.created_at, a.updated_at,
            ${SEVERITY_COUNTS_SQL}
     FROM applications a
     JOIN teams t ON t.id = a.team_id
     LEFT JOIN vulnerabilities v ON v.application_id = a.id AND v.status = 'open'
     WHERE a.id = $1 AND ${teamInScopeSql('$2', 'a.team_id')}
     GROUP BY a.id, t.id`,
    [id, teamScopeParam(scope)],
  );
  return rows[0];
}

/**
 * The active application of a team named exactly by the first of `names` that names one. Names
 * are unique per team regardless of case, so the lower(name) index finds the candidates.
 */
export async function findActiveApplicationByName(
  m: EntityManager,
  teamId: number,
  names: readonly string[],
): Promise<number | undefined> {
  // Served by applications_team_lower_name_key.
  const rows: { id: number; name: string }[] = await m.query(
    `SELECT id, name FROM applications
     WHERE team_id = $1 AND lower(name) = ANY($2::text[]) AND active`,
    [teamId, names.map((name) => name.toLowerCase())],
  );
  for (const name of names) {
    const found = rows.find((row) => row.name === name);
    if (found) return found.id;
  }
  return undefined;
}

/** The active applications of a team with the first of `uniqueIds` that any of them carries. */
export async function findActiveApplicationsByUniqueId(
  m: EntityManager,
  teamId: number,
  uniqueIds: readonly string[],
): Promise<number[]> {
  // Served by applications_team_id_unique_id_idx.
  const rows: { id: number; unique_id: string }[] = await m.query(
    `SELECT id, unique_id FROM applications
     WHERE team_id = $1 AND unique_id = ANY($2::text[]) AND active
     ORDER BY id`,
    [teamId, uniqueIds],
  );
  for (const uniqueId of uniqueIds) {
    const found = rows.filter((row) => row.unique_id === uniqueId);
    if (found.length > 0) return found.map((row) => row.id);
  }
  return [];
}

/** Whether another application of the team has this name (regardless of case). */
export async function applicationNameTaken(
  m: EntityManager,
  teamId: number,
  name: string,
  exceptId: number | null,
): Promise<boolean> {
  const rows: unknown[] = await m.query(
    `SELECT 1 FROM applications
     WHERE team_id = $1 AND lower(name) = lower($2) AND ($3::int IS NULL OR id <> $3)`,
    [teamId, name, exceptId],
  );
  return rows.length > 0;
}

export interface ApplicationChanges {
  name: string;
  url: string | null;
  uniqueId: string | null;
  criticality: number;
  description: string | null;
  teamId: number;
}

export async function insertApplication(
  tx: EntityManager,
  app: Omit<ApplicationChanges, 'uniqueId' | 'criticality'>,
): Promise<number> {
  const rows: { id: number }[] = await tx.query(
    `INSERT INTO applications (team_id, name, url, description) VALUES ($1, $2, $3, $4) RETURNING id`,
    [app.teamId, app.name, app.url, app.description],
  );
  return rows[0].id;
}

export async function updateApplication(
  tx: EntityManager,
  id: number,
  app: ApplicationChanges,
): Promise<void> {
  await tx.query(
    `UPDATE applications
     SET name = $2, url = $3, unique_id = $4, criticality = $5, description = $6, team_id = $7,
         updated_at = now()
     WHERE id = $1`,
    [id, app.name, app.url, app.uniqueId, app.criticality, app.description, app.teamId],
  );
}

/** The application row locked for an update, when the scope reaches its team. */
export async function lockApplication(
  tx: EntityManager,
  id: number,
  scope: TeamScope,
): Promise<(ApplicationChanges & { active: boolean }) | undefined> {
  const rows: {
    name: string;
    url: string | null;
    unique_id: string | null;
    criticality: number;
    description: string | null;
    team_id: number;
    active: boolean;
  }[] = await tx.query(
    `SELECT name, url, unique_id, criticality, description, team_id, active
     FROM applications WHERE id = $1 AND ${teamInScopeSql('$2', 'team_id')} FOR UPDATE`,
    [id, teamScopeParam(scope)],
  );
  const [row] = rows;
  return (
    row && {
      name: row.name,
      url: row.url,
      uniqueId: row.unique_id,
      criticality: row.criticality,
      description: row.description,
      teamId: row.team_id,
      active: row.active,
    }
  );
}

/** The team, share-locked (a concurrent delete waits), or undefined (also outside the scope). */
export async function lockTeamForShare(
  tx: EntityManager,
  id: number,
  scope: TeamScope,
): Promise<{ id: number; active: boolean } | undefined> {
  const rows: { id: number; active: boolean }[] = await tx.query(
    `SELECT id, active FROM teams WHERE id = $1 AND ${teamInScopeSql('$2', 'id')} FOR SHARE`,
    [id, teamScopeParam(scope)],
  );
  return rows[0];
}

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

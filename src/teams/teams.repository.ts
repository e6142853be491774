/**
 * The SQL of the team calls: finding, listing, renaming and soft-deleting teams, and the read model
 * ThreadFix's Team JSON shows (each team's active applications with their open vulnerabilities by
 * severity). Raw SQL on applications and vulnerabilities: the team JSON reads those tables, not
 * their modules (teams sits below imports in the module graph).
 */
import { EntityManager, QueryFailedError } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { teamInScopeSql } from '../auth/team-scope.repository';

export interface TeamRow {
  id: number;
  name: string;
  active: boolean;
  is_default: boolean;
}

export interface SeverityCountsRow {
  critical: number;
  high: number;
  medium: number;
  low: number;
  info: number;
}

/** An active application of a team, with its open vulnerabilities by severity. */
/**
 * The select list of SeverityCountsRow: the open vulnerabilities (joined as `v`) counted per
 * severity, as ThreadFix's application and team views show them.
 */
export const SEVERITY_COUNTS_SQL = ['critical', 'high', 'medium', 'low', 'info']
  .map((severity) => `count(v.id) FILTER (WHERE v.severity = '${severity}')::int AS ${severity}`)
  .join(', ');

export interface TeamApplicationRow extends SeverityCountsRow {
  id: number;
  team_id: number;
  name: string;
  url: string | null;
  unique_id: string | null;
  criticality: number;
  active: boolean;
}

const TEAM_COLUMNS = 'id, name, active, is_default';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driver = error.driverError as { code?: string; constraint?: string };
  return driver.code === '23505' && (constraint === undefined || driver.constraint === constraint);
}

/**
 * The new team, or undefined when a team (a deleted one too) already has the name. ON CONFLICT
 * rather than a caught unique violation: a taken name is an ordinary answer (409), not a failed
 * query in the logs, and two concurrent creates still cannot both win.
 */
export async function insertTeam(tx: EntityManager, name: string): Promise<TeamRow | undefined> {
  const rows: TeamRow[] = await tx.query(
    `INSERT INTO teams (name) VALUES ($1)
     ON CONFLICT ON CONSTRAINT teams_name_key DO NOTHING
     RETURNING ${TEAM_COLUMNS}`,
    [name],
  );
  return rows[0];
}

/** Whether another team (a deleted one too) has this exact name. */
export async function teamNameTaken(
  m: EntityManager,
  name: string,
  exceptId: number,
): Promise<boolean> {
  // Served by teams_name_key.
  const rows: unknown[] = await m.query(`SELECT 1 FROM teams WHERE name = $1 AND id <> $2`, [
    name,
    exceptId,
  ]);
  return rows.length > 0;
}

/** The team, when the scope reaches it (a team outside it is as missing). */
export async function findTeam(
  m: EntityManager,
  id: number,
  scope: TeamScope,
  options: { lock?: boolean } = {},
): Promise<TeamRow | undefined> {
  const rows: TeamRow[] = await m.query(
    `SELECT ${TEAM_COLUMNS} FROM teams WHERE id = $1 AND ${teamInScopeSql('$2', 'id')}
     ${options.lock ? 'FOR UPDATE' : ''}`,
    [id, teamScopeParam(scope)],
  );
  return rows[0];
}

/**
 * The active team the scope reaches named exactly (case-sensitive) by the first of `names` that
 * names one.
 */
export async function findActiveTeamByName(
  m: EntityManager,
  names: readonly string[],
  scope: TeamScope,
): Promise<TeamRow | undefined> {
  // Served by teams_name_key.
  const rows: TeamRow[] = await m.query(
    `SELECT ${TEAM_COLUMNS} FROM teams
     WHERE name = ANY($1::text[]) AND active AND ${teamInScopeSql('$2', 'id')}`,
    [names, teamScopeParam(scope)],
  );
  for (const name of names) {
    const found = rows.find((row) => row.name === name);
    if (found) return found;
  }
  return undefined;
}

/** One page of the active teams the scope reaches, by name (then id). */
export async function listActiveTeams(
  m: EntityManager,
  scope: TeamScope,
  limit: number,
  offset: number,
): Promise<TeamRow[]> {
  return m.query(
    `SELECT ${TEAM_COLUMNS} FROM teams
     WHERE active AND ${teamInScopeSql('$1', 'id')}
     ORDER BY name, id
     LIMIT $2 OFFSET $3`,
    [teamScopeParam(scope), limit, offset],
  );
}

export async function renameTeam(tx: EntityManager, id: number, name: string): Promise<void> {
  await tx.query(`UPDATE teams SET name = $2, updated_at = now() WHERE id = $1`, [id, name]);
}

/**
 * ThreadFix's soft delete: the team is renamed (so its name is free again) and made inactive, and
 * its active applications are deactivated as scanqueue's own deactivate does (tasks and scans kept).
 */
export async function softDeleteTeam(
  tx: EntityManager,
  id: number,
  deletedName: string,
): Promise<void> {
  await tx.query(`UPDATE teams SET name = $2, active = false, updated_at = now() WHERE id = $1`, [
    id,
    deletedName,
  ]);
  await tx.query(
    `UPDATE applications SET active = false, updated_at = now() WHERE team_id = $1 AND active`,
    [id],
  );
}

/** The active applications of these teams, by name, with their open vulnerabilities by severity. */
export async function teamApplications(
  m: EntityManager,
  teamIds: readonly number[],
): Promise<TeamApplicationRow[]> {
  if (teamIds.length === 0) return [];
  // Counts served by vulnerabilities_application_id_status_severity_idx.
  return m.query(
    `SELECT a.id, a.team_id, a.name, a.url, a.unique_id, a.criticality, a.active,
            ${SEVERITY_COUNTS_SQL}
     FROM applications a
     LEFT JOIN vulnerabilities v ON v.application_id = a.id AND v.status = 'open'
     WHERE a.team_id = ANY($1::int[]) AND a.active
     GROUP BY a.id
     ORDER BY a.name, a.id`,
    [teamIds],
  );
}

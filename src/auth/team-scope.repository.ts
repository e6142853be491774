/**
 * The team-scope SQL fragments other statements embed (docs/security.md): a row is in the scope
 * when its team is one of the scope parameter's, or the parameter is null (every team; the
 * planner folds `NULL IS NULL`). The parameter's value is teamScopeParam (team-scope.ts).
 */

/** `teamColumn` is one of the teams of the scope parameter `param` (e.g. `$2`). */
export function teamInScopeSql(param: string, teamColumn: string): string {
  return `(${param}::int[] IS NULL OR ${teamColumn} = ANY(${param}::int[]))`;
}

/**
 * The application `applicationIdColumn` belongs to a team of the scope parameter `param`: a probe
 * of the teams' applications per row (PostgreSQL hashes them once), and nothing at all for an
 * unscoped key (the planner folds `NULL IS NULL`).
 */
export function applicationInScopeSql(param: string, applicationIdColumn: string): string {
  return `(${param}::int[] IS NULL OR EXISTS (
      SELECT 1 FROM applications scope_app
      WHERE scope_app.id = ${applicationIdColumn} AND scope_app.team_id = ANY(${param}::int[])))`;
}

/** Builds ThreadFix's Team JSON from team and application rows; every field is decided here. */
import { criticalityJson } from './application-criticality';
import type {
  TeamApplicationJson,
  TeamJson,
  TeamListApplicationJson,
  TeamListItemJson,
  VulnCountsJson,
} from './team.dto';
import type { SeverityCountsRow, TeamApplicationRow, TeamRow } from './teams.repository';

/** ThreadFix's six counts, in its field names. */
export function toVulnCounts(rows: readonly SeverityCountsRow[]): VulnCountsJson {
  const sum = (pick: (row: SeverityCountsRow) => number) =>
    rows.reduce((total, row) => total + pick(row), 0);
  const counts = {
    infoVulnCount: sum((r) => r.info),
    lowVulnCount: sum((r) => r.low),
    mediumVulnCount: sum((r) => r.medium),
    highVulnCount: sum((r) => r.high),
    criticalVulnCount: sum((r) => r.critical),
  };
  return {
    ...counts,
    totalVulnCount:
      counts.infoVulnCount +
      counts.lowVulnCount +
      counts.mediumVulnCount +
      counts.highVulnCount +
      counts.criticalVulnCount,
  };
}

function toTeamApplication(app: TeamApplicationRow): TeamApplicationJson {
  return {
    id: app.id,
    name: app.name,
    url: app.url,
    applicationCriticality: criticalityJson(app.criticality),
    grcApplication: null,
  };
}

/** Team by id, by name, and a new team (RestViewTeam2_1). */
export function toThreadFixTeam(team: TeamRow, apps: readonly TeamApplicationRow[]): TeamJson {
  return {
    id: team.id,
    name: team.name,
    ...toVulnCounts(apps),
    applications: apps.map(toTeamApplication),
  };
}

/**
 * A team of the list (RestViewTeams2_1): `active`, and per application `uniqueId` and `active` too.
 * ThreadFix's view also sent each application's repository user name and password: never here.
 */
export function toThreadFixTeamListItem(
  team: TeamRow,
  apps: readonly TeamApplicationRow[],
): TeamListItemJson {
  return {
    id: team.id,
    name: team.name,
    ...toVulnCounts(apps),
    active: team.active,
    applications: apps.map((app): TeamListApplicationJson => ({
      ...toTeamApplication(app),
      uniqueId: app.unique_id,
      active: app.active,
    })),
  };
}

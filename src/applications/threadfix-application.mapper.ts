/** Builds the Application JSON (scanqueue's fields, then ThreadFix's); every field is decided here. */
import { toScanStat, ScanStatRow } from '../scans/scan-stats';
import { toVulnCounts } from '../teams/team.mapper';
import { criticalityJson } from './application-criticality';
import type { ThreadFixApplicationJson } from './threadfix-application.dto';
import type { ApplicationViewRow } from './threadfix-applications.repository';

export function toThreadFixApplication(
  app: ApplicationViewRow,
  scans: readonly ScanStatRow[],
): ThreadFixApplicationJson {
  const counts = toVulnCounts([app]);
  return {
    id: app.id,
    name: app.name,
    url: app.url,
    description: app.description,
    active: app.active,
    teamId: app.team_id,
    createdTime: app.created_at.getTime(),
    modifiedTime: app.updated_at.getTime(),
    uniqueId: app.unique_id,
    applicationCriticality: criticalityJson(app.criticality),
    organization: { id: app.team_id, name: app.team_name },
    waf: null,
    grcApplication: null,
    totalVulnCount: counts.totalVulnCount,
    infoVulnCount: counts.infoVulnCount,
    lowVulnCount: counts.lowVulnCount,
    mediumVulnCount: counts.mediumVulnCount,
    highVulnCount: counts.highVulnCount,
    criticalVulnCount: counts.criticalVulnCount,
    scans: scans.map(toScanStat),
  };
}

/** Builds the Application JSON (scanqueue's fields, then ThreadFix's); every field is decided here. */
import { toVulnCounts } from '../teams/team.mapper';
import { criticalityJson } from '../teams/application-criticality';
import type { ScanStatJson, ThreadFixApplicationJson } from './threadfix-application.dto';
import type { ApplicationViewRow, ScanStatRow } from './threadfix-applications.repository';

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

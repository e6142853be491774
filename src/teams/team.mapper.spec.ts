import { toThreadFixTeam, toThreadFixTeamListItem, toVulnCounts } from './team.mapper';
import type { TeamApplicationRow, TeamRow } from './teams.repository';

const team: TeamRow = { id: 7, name: 'Team A', active: true, is_default: false };
const app = (id: number, counts: Partial<TeamApplicationRow> = {}): TeamApplicationRow => ({
  id,
  team_id: 7,
  name: `App ${id}`,
  url: null,
  unique_id: `u-${id}`,
  criticality: 3,
  active: true,
  critical: 0,
  high: 0,
  medium: 0,
  low: 0,
  info: 0,
  ...counts,
});

describe('team mapper', () => {
  it("sums its applications' counts under ThreadFix's names", () => {
    expect(
      toVulnCounts([app(1, { critical: 1, high: 2, info: 4 }), app(2, { medium: 3, low: 5 })]),
    ).toEqual({
      infoVulnCount: 4,
      lowVulnCount: 5,
      mediumVulnCount: 3,
      highVulnCount: 2,
      criticalVulnCount: 1,
      totalVulnCount: 15,
    });
  });

  it('a team: its applications without uniqueId/active; a list item: with them and active', () => {
    expect(toThreadFixTeam(team, [app(1)])).toEqual({
      id: 7,
      name: 'Team A',
      infoVulnCount: 0,
      lowVulnCount: 0,
      mediumVulnCount: 0,
      highVulnCount: 0,
      criticalVulnCount: 0,
      totalVulnCount: 0,
      applications: [
        {
          id: 1,
          name: 'App 1',
          url: null,
          applicationCriticality: { id: 3, name: 'High' },
          grcApplication: null,
        },
      ],
    });
    expect(toThreadFixTeamListItem(team, [app(1)])).toMatchObject({
      active: true,
      applications: [{ id: 1, uniqueId: 'u-1', active: true }],
    });
    expect(toThreadFixTeam(team, []).applications).toEqual([]);
  });
});

/**
 * Teams (ThreadFix's organizations): the use cases of ThreadFix's team calls, with its rules and
 * messages, and per-team API-key scope: a key limited to some teams sees and reaches only those,
 * and a team outside them answers exactly as a missing one. One use case = one transaction.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { TeamScope } from '../auth/team-scope';
import { BadRestParameter, Forbidden, NotFound, StateConflict } from '../rest/rest-error';
import { required } from '../rest/param-rules';
import { HTML_IN_NAME, hasHtmlCharacters, nameCandidates } from './custom-names';
import { MAX_TEAMS_PAGE_SIZE, TeamJson, TeamListItemJson } from './team.dto';
import { toThreadFixTeam, toThreadFixTeamListItem } from './team.mapper';
import {
  findActiveTeamByName,
  findTeam,
  insertTeam,
  isUniqueViolation,
  listActiveTeams,
  renameTeam,
  softDeleteTeam,
  teamApplications,
  teamNameTaken,
  TeamRow,
} from './teams.repository';

// ThreadFix's messages (TeamRestController), which clients match on.
export const TEAM_NAME_MISSING = '"name" parameter was not present, new Team creation failed.';
export const TEAM_CREATION_FAILED = 'New Team creation failed.';
export const TEAM_LOOKUP_FAILED = 'Team Lookup failed.';
export const INVALID_PARAMETERS = 'Invalid parameters entered';
export const TEAM_UPDATED = 'Fields updated successfully';
export const noTeamNamed = (name: string) => `No team found with name '${name}'`;
// scanqueue's own, where ThreadFix had none.
export const NAME_TAKEN = 'That name is already taken.';
export const SCOPED_KEY_CANNOT_CREATE_TEAMS =
  'Your API Key is limited to some teams and cannot create teams.';
export const DEFAULT_TEAM_NOT_DELETABLE =
  'The default team cannot be deleted: applications created without a team go there.';
export const TEAM_DELETED = 'Team deleted successfully.';

/** ThreadFix's team name rule: shorter than 60 characters (the column holds 60). */
const MAX_TEAM_NAME = 59;

@Injectable()
export class TeamsService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * ThreadFix's checks in its order: the name present, free of HTML, not blank, short enough, and
   * used by no other team (deleted ones included; case-sensitive). The name is stored as sent.
   * A key limited to some teams cannot create one (it could never reach it).
   */
  async create(scope: TeamScope, name: string | undefined): Promise<TeamJson> {
    if (scope.teamIds !== null) throw new Forbidden(SCOPED_KEY_CANNOT_CREATE_TEAMS);
    if (name === undefined) throw new BadRestParameter(TEAM_NAME_MISSING);
    if (hasHtmlCharacters(name)) throw new BadRestParameter(HTML_IN_NAME);
    if (name.trim() === '' || name.length > MAX_TEAM_NAME)
      throw new BadRestParameter(TEAM_CREATION_FAILED);
    const team = await this.dataSource.transaction((tx) => insertTeam(tx, name));
    if (!team) throw new StateConflict(TEAM_CREATION_FAILED);
    return toThreadFixTeam(team, []);
  }

  async get(scope: TeamScope, id: number): Promise<TeamJson> {
    const manager = this.dataSource.manager;
    const team = await findTeam(manager, id, scope);
    if (!team || !team.active) throw new NotFound(TEAM_LOOKUP_FAILED);
    return toThreadFixTeam(team, await teamApplications(manager, [team.id]));
  }

  /**
   * By exact name (`rawName`: the value as it was in the query string, for the `+` rules of
   * custom-names.ts nameCandidates).
   */
  async lookup(
    scope: TeamScope,
    name: string | undefined,
    rawName: string | undefined,
  ): Promise<TeamJson> {
    if (name === undefined) throw new BadRestParameter(required('name').message as string);
    const manager = this.dataSource.manager;
    const team = await findActiveTeamByName(manager, nameCandidates(name, rawName), scope);
    if (!team) throw new NotFound(noTeamNamed(name));
    return toThreadFixTeam(team, await teamApplications(manager, [team.id]));
  }

  /** The active teams the caller reaches, by name; the vendor client asks for one page of 10,000. */
  async list(
    scope: TeamScope,
    page = 1,
    pageSize = MAX_TEAMS_PAGE_SIZE,
  ): Promise<TeamListItemJson[]> {
    const manager = this.dataSource.manager;
    const teams = await listActiveTeams(manager, scope, pageSize, (page - 1) * pageSize);
    const apps = await teamApplications(
      manager,
      teams.map((team) => team.id),
    );
    return teams.map((team) =>
      toThreadFixTeamListItem(
        team,
        apps.filter((app) => app.team_id === team.id),
      ),
    );
  }

  /**
   * ThreadFix renamed without any check (a duplicate name then broke the lookup by name); here the
   * create rules apply too.
   */
  async update(scope: TeamScope, id: number, name: string | undefined): Promise<string> {
    try {
      await this.dataSource.transaction(async (tx) => {
        await this.reachableTeam(tx, scope, id);
        if (name !== undefined && hasHtmlCharacters(name)) throw new BadRestParameter(HTML_IN_NAME);
        if (name === undefined || name.trim() === '' || name.length > MAX_TEAM_NAME)
          throw new BadRestParameter(INVALID_PARAMETERS);
        // Checked first so that a taken name is an answer, not a failed query in the logs; the
        // unique constraint still decides a race with another rename.
        if (await teamNameTaken(tx, name, id)) throw new StateConflict(NAME_TAKEN);
        await renameTeam(tx, id, name);
      });
    } catch (error) {
      if (isUniqueViolation(error, 'teams_name_key')) throw new StateConflict(NAME_TAKEN);
      throw error;
    }
    return TEAM_UPDATED;
  }

  /**
   * ThreadFix's soft delete: `deleted-{id}-{name}` (cut to 58 characters when it would reach 60),
   * inactive, and its applications deactivated. The default team stays.
   */
  async delete(scope: TeamScope, id: number): Promise<string> {
    try {
      await this.dataSource.transaction(async (tx) => {
        const team = await this.reachableTeam(tx, scope, id);
        if (team.is_default) throw new StateConflict(DEFAULT_TEAM_NOT_DELETABLE);
        const renamed = `deleted-${team.id}-${team.name}`;
        await softDeleteTeam(tx, team.id, renamed.length >= 60 ? renamed.slice(0, 58) : renamed);
      });
    } catch (error) {
      // Another team already carries the deleted name (someone named a team so): nothing changed.
      if (isUniqueViolation(error, 'teams_name_key'))
        throw new StateConflict(
          `Team ${id} cannot be deleted: a team is named like its deleted name.`,
        );
      throw error;
    }
    return TEAM_DELETED;
  }

  /** The active team, locked for the change, when the scope reaches it; else "Team Lookup failed.". */
  private async reachableTeam(tx: EntityManager, scope: TeamScope, id: number): Promise<TeamRow> {
    const team = await findTeam(tx, id, scope, { lock: true });
    if (!team || !team.active) throw new NotFound(TEAM_LOOKUP_FAILED);
    return team;
  }
}

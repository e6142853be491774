/**
 * ThreadFix's application calls: create an application in a team, read one (also scanqueue's own
 * GET /rest/applications/{id}), look one up by team name and name or uniqueId, and update one.
 * ThreadFix's rules and messages; its create rules apply on update too. Every call checks the
 * caller's team scope: an application of a team the key does not reach answers as a missing one.
 */
import { Injectable } from '@nestjs/common';
import { isURL } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { TeamScope } from '../auth/team-scope';
import { HTTP_URL_RULES } from '../rest/param-rules';
import { BadRestParameter, NotFound, StateConflict } from '../rest/rest-error';
import { HTML_IN_NAME, hasHtmlCharacters, nameCandidates } from '../teams/custom-names';
import { findActiveTeamByName, isUniqueViolation } from '../teams/teams.repository';
import { isCriticality } from '../teams/application-criticality';
import { ApplicationNotFound } from './applications.service';
import { FormValidationFailed } from './form-validation';
import {
  CreateTeamApplicationParams,
  ThreadFixApplicationJson,
  UPDATE_PARAMETERS,
  UpdateThreadFixApplicationParams,
} from './threadfix-application.dto';
import { toThreadFixApplication } from './threadfix-application.mapper';
import {
  ApplicationChanges,
  applicationNameTaken,
  findActiveApplicationByName,
  findActiveApplicationsByUniqueId,
  findApplicationView,
  insertApplication,
  lockApplication,
  lockTeamForShare,
  scanStats,
  updateApplication,
} from './threadfix-applications.repository';

// ThreadFix's messages (ApplicationRestController, TeamRestController), which clients match on.
export const INVALID_TEAM_ID = 'Invalid Team ID.';
export const TEAM_DELETED = 'Team has been deleted.';
export const CREATION_FAILED = 'New Application creation failed.';
export const PROBLEMS_CREATING = 'Problems creating application.';
export const LOOKUP_FAILED = 'Application lookup failed. Check your ID.';
export const SEVERAL_FOUND = 'More than one application found. Check your search criteria.';
export const NO_PARAMETERS = 'No parameters have been set';
export const APPLICATION_UPDATED = 'Fields updated successfully.';
export const noApplicationWithId = (id: number) => `No application found for id: ${id}`;
// ThreadFix's field messages in errorMap, and scanqueue's where it had none.
export const BLANK = 'This field cannot be blank';
export const NAME_TAKEN = 'That name is already taken.';
export const NOT_A_URL = 'Not a valid URL.';
export const maxLength = (n: number) => `The maximum length is ${n}.`;
export const BAD_CRITICALITY =
  'Use a criticality id: 1 (Low), 2 (Medium), 3 (High) or 4 (Critical).';
export const NO_CREDENTIALS =
  'scanqueue does not store repository credentials; leave this parameter out.';

const MAX_NAME = 60;
const MAX_URL = 255;
const MAX_UNIQUE_ID = 255;
const MAX_DESCRIPTION = 10_000;

const isHttpUrl = (url: string) => isURL(url, HTTP_URL_RULES);

@Injectable()
export class ThreadFixApplicationsService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * scanqueue's GET /rest/applications/{id} and ThreadFix's application by id, one route: any
   * application (a deactivated one too, with `active: false`: scanqueue's semantics), in the
   * caller's scope, else scanqueue's 404.
   */
  async detail(scope: TeamScope, id: number): Promise<ThreadFixApplicationJson> {
    const json = await this.view(this.dataSource.manager, scope, id);
    if (!json) throw new ApplicationNotFound(id);
    return json;
  }

  /**
   * ThreadFix's checks in its order: the team (missing or out of scope; deleted), the name (blank,
   * HTML), the URL (scanqueue: http or https only), then lengths and the name's uniqueness in the
   * team. Created trimmed, with criticality Low.
   */
  async createInTeam(
    scope: TeamScope,
    teamId: number,
    params: CreateTeamApplicationParams,
  ): Promise<ThreadFixApplicationJson> {
    const name = params.name?.trim() ?? '';
    const url = params.url?.trim() || null;
    try {
      const id = await this.dataSource.transaction(async (tx) => {
        const team = await lockTeamForShare(tx, teamId, scope);
        if (!team) throw new NotFound(INVALID_TEAM_ID);
        if (!team.active) throw new StateConflict(TEAM_DELETED);
        if (name === '') throw new BadRestParameter(CREATION_FAILED);
        if (hasHtmlCharacters(params.name as string)) throw new BadRestParameter(HTML_IN_NAME);
        if (url !== null && !isHttpUrl(url)) throw new BadRestParameter(CREATION_FAILED);
        if (name.length > MAX_NAME || (url?.length ?? 0) > MAX_URL)
          throw new BadRestParameter(PROBLEMS_CREATING);
        if (await applicationNameTaken(tx, team.id, name, null))
          throw new StateConflict(PROBLEMS_CREATING);
        return insertApplication(tx, {
          teamId: team.id,
          name,
          url,
          description: params.description || null,
        });
      });
      return (await this.view(this.dataSource.manager, scope, id)) as ThreadFixApplicationJson;
    } catch (error) {
      if (isUniqueViolation(error, 'applications_team_lower_name_key'))
        throw new StateConflict(PROBLEMS_CREATING);
      throw error;
    }
  }

  /**
   * By team name (a path segment) and the application's name or, taking precedence as in
   * ThreadFix, its uniqueId; exact matches, with the `+` retries of nameCandidates. Only active
   * applications of active teams the caller reaches.
   */
  async lookup(
    scope: TeamScope,
    teamName: string,
    by: { name?: string; rawName?: string; uniqueId?: string; rawUniqueId?: string },
  ): Promise<ThreadFixApplicationJson> {
    if (by.name === undefined && by.uniqueId === undefined)
      throw new BadRestParameter(LOOKUP_FAILED);
    const manager = this.dataSource.manager;
    const team = await findActiveTeamByName(manager, nameCandidates(teamName), scope);
    if (!team) throw new NotFound(LOOKUP_FAILED);
    let id: number | undefined;
    if (by.uniqueId !== undefined) {
      const ids = await findActiveApplicationsByUniqueId(
        manager,
        team.id,
        nameCandidates(by.uniqueId, by.rawUniqueId),
      );
      if (ids.length > 1) throw new StateConflict(SEVERAL_FOUND);
      id = ids[0];
    } else {
      id = await findActiveApplicationByName(
        manager,
        team.id,
        nameCandidates(by.name as string, by.rawName),
      );
    }
    const json = id === undefined ? undefined : await this.view(manager, scope, id);
    if (!json) throw new NotFound(LOOKUP_FAILED);
    return json;
  }

  /**
   * ThreadFix's updateApplication, with its create rules applied (it checked none of them): every
   * field is validated first and a failure changes nothing (`Has validation errors` + errorMap).
   */
  async update(
    scope: TeamScope,
    id: number,
    params: UpdateThreadFixApplicationParams,
  ): Promise<string> {
    if (!UPDATE_PARAMETERS.some((key) => params[key] !== undefined))
      throw new BadRestParameter(NO_PARAMETERS);
    try {
      await this.dataSource.transaction(async (tx) => {
        const app = await lockApplication(tx, id, scope);
        if (!app || !app.active) throw new NotFound(noApplicationWithId(id));
        const changes = await this.validatedChanges(tx, scope, app, params);
        if (await applicationNameTaken(tx, changes.teamId, changes.name, id))
          throw new FormValidationFailed({ name: NAME_TAKEN }, 409);
        await updateApplication(tx, id, changes);
      });
    } catch (error) {
      if (isUniqueViolation(error, 'applications_team_lower_name_key'))
        throw new FormValidationFailed({ name: NAME_TAKEN }, 409);
      throw error;
    }
    return APPLICATION_UPDATED;
  }

  private async validatedChanges(
    tx: EntityManager,
    scope: TeamScope,
    current: ApplicationChanges,
    params: UpdateThreadFixApplicationParams,
  ): Promise<ApplicationChanges> {
    const errors: Record<string, string> = {};
    const changes = { ...current };
    for (const secret of ['repositoryUserName', 'repositoryPassword'] as const)
      if (params[secret] !== undefined) errors[secret] = NO_CREDENTIALS;
    if (params.name !== undefined) {
      const name = params.name.trim();
      if (name === '') errors.name = BLANK;
      else if (hasHtmlCharacters(params.name)) errors.name = HTML_IN_NAME;
      else if (name.length > MAX_NAME) errors.name = maxLength(MAX_NAME);
      changes.name = name;
    }
    if (params.url !== undefined) {
      const url = params.url.trim();
      if (url.length > MAX_URL) errors.url = maxLength(MAX_URL);
      else if (url !== '' && !isHttpUrl(url)) errors.url = NOT_A_URL;
      changes.url = url || null;
    }
    if (params.uniqueId !== undefined) {
      if (params.uniqueId.length > MAX_UNIQUE_ID) errors.uniqueId = maxLength(MAX_UNIQUE_ID);
      changes.uniqueId = params.uniqueId || null;
    }
    if (params.applicationCriticality !== undefined) {
      const criticality = /^\s*\d{1,2}\s*$/.test(params.applicationCriticality)
        ? Number(params.applicationCriticality)
        : NaN;
      if (!isCriticality(criticality)) errors.applicationCriticality = BAD_CRITICALITY;
      else changes.criticality = criticality;
    }
    if (params.description !== undefined) {
      if (params.description.length > MAX_DESCRIPTION)
        errors.description = maxLength(MAX_DESCRIPTION);
      changes.description = params.description || null;
    }
    if (params.team !== undefined) {
      const teamId = /^\s*\d{1,9}\s*$/.test(params.team) ? Number(params.team) : NaN;
      // A team the key does not reach is as unknown as a missing one.
      const team = Number.isNaN(teamId) ? undefined : await lockTeamForShare(tx, teamId, scope);
      if (!team || !team.active) errors.team = INVALID_TEAM_ID;
      else changes.teamId = team.id;
    }
    if (Object.keys(errors).length > 0) throw new FormValidationFailed(errors);
    return changes;
  }

  /** The Application JSON, or undefined when the application is missing or out of scope. */
  private async view(
    manager: EntityManager,
    scope: TeamScope,
    id: number,
  ): Promise<ThreadFixApplicationJson | undefined> {
    const app = await findApplicationView(manager, id, scope);
    if (!app) return undefined;
    return toThreadFixApplication(app, await scanStats(manager, { applicationId: app.id }));
  }
}

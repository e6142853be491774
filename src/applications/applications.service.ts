import { Injectable } from '@nestjs/common';
import { DataSource, FindOptionsWhere, In, QueryFailedError } from 'typeorm';
import { reachesTeam, TeamScope } from '../auth/team-scope';
import { BadRestParameter, NotFound, StateConflict } from '../rest/rest-error';
import { TeamEntity } from '../teams/team.entity';
import { ApplicationEntity } from './application.entity';
import { CreateApplicationDto, UpdateApplicationDto } from './application.dto';

export class ApplicationNotFound extends NotFound {
  constructor(id: number) {
    super(`Application with id ${id} was not found.`);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505'
  );
}

@Injectable()
export class ApplicationsService {
  constructor(private readonly dataSource: DataSource) {}

  private get applications() {
    return this.dataSource.getRepository(ApplicationEntity);
  }

  /** The application's filter for a scope: its teams, or none for an unscoped key. */
  private inScope(scope: TeamScope): FindOptionsWhere<ApplicationEntity> {
    return scope.teamIds === null ? {} : { teamId: In([...scope.teamIds]) };
  }

  /**
   * Checked before the write so that a taken name is an answer, not a failed query in the logs; the
   * unique index (team, lower(name)) still decides a race between two writers.
   */
  private async nameTaken(teamId: number, name: string, exceptId?: number): Promise<boolean> {
    const query = this.applications
      .createQueryBuilder('app')
      .where('app.team_id = :teamId AND lower(app.name) = lower(:name)', { teamId, name });
    if (exceptId !== undefined) query.andWhere('app.id <> :exceptId', { exceptId });
    return query.getExists();
  }

  /**
   * The named active team, or the default team when none is named. A team outside the scope is
   * missing to it.
   */
  private async teamFor(teamId: number | undefined, scope: TeamScope): Promise<TeamEntity> {
    const team = await this.dataSource
      .getRepository(TeamEntity)
      .findOneBy(
        teamId === undefined ? { isDefault: true, active: true } : { id: teamId, active: true },
      );
    if (teamId !== undefined && (!team || !reachesTeam(scope, team.id)))
      throw new NotFound(`Team with id ${teamId} was not found.`);
    if (!team) throw new BadRestParameter('teamId is required: there is no default team.');
    if (!reachesTeam(scope, team.id))
      throw new BadRestParameter(
        "teamId is required: the default team is not among this API key's teams.",
      );
    return team;
  }

  async create(input: CreateApplicationDto, scope: TeamScope): Promise<ApplicationEntity> {
    const team = await this.teamFor(input.teamId, scope);
    const taken = () =>
      new StateConflict(`An application named '${input.name}' already exists in this team.`);
    if (await this.nameTaken(team.id, input.name.trim())) throw taken();
    try {
      return await this.applications.save(
        this.applications.create({
          teamId: team.id,
          name: input.name.trim(),
          url: input.url ?? null,
          description: input.description ?? null,
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw taken();
      throw error;
    }
  }

  list(includeInactive: boolean | undefined, scope: TeamScope): Promise<ApplicationEntity[]> {
    return this.applications.find({
      where: { ...(includeInactive ? {} : { active: true }), ...this.inScope(scope) },
      order: { id: 'ASC' },
    });
  }

  /** One application; outside the scope it is missing (the same 404 and message). */
  async get(id: number, scope: TeamScope): Promise<ApplicationEntity> {
    const app = await this.applications.findOneBy({ id, ...this.inScope(scope) });
    if (!app) throw new ApplicationNotFound(id);
    return app;
  }

  async update(
    id: number,
    input: UpdateApplicationDto,
    scope: TeamScope,
  ): Promise<ApplicationEntity> {
    const app = await this.get(id, scope);
    if (input.name !== undefined) app.name = input.name.trim();
    if (input.url !== undefined) app.url = input.url;
    if (input.description !== undefined) app.description = input.description;
    const taken = () => new StateConflict(`An application named '${input.name}' already exists.`);
    if (input.name !== undefined && (await this.nameTaken(app.teamId, app.name, app.id)))
      throw taken();
    try {
      return await this.applications.save(app);
    } catch (error) {
      if (isUniqueViolation(error)) throw taken();
      throw error;
    }
  }

  /** Soft delete: the application keeps its tasks and scans; no new task can be queued for it. */
  async deactivate(id: number, scope: TeamScope): Promise<ApplicationEntity> {
    const app = await this.get(id, scope);
    app.active = false;
    return this.applications.save(app);
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
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

  /** The named active team, or the default team when none is named. */
  private async teamFor(teamId: number | undefined): Promise<TeamEntity> {
    const team = await this.dataSource
      .getRepository(TeamEntity)
      .findOneBy(
        teamId === undefined ? { isDefault: true, active: true } : { id: teamId, active: true },
      );
    if (!team)
      throw teamId === undefined
        ? new BadRestParameter('teamId is required: there is no default team.')
        : new NotFound(`Team with id ${teamId} was not found.`);
    return team;
  }

  async create(input: CreateApplicationDto): Promise<ApplicationEntity> {
    const team = await this.teamFor(input.teamId);
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
      if (isUniqueViolation(error))
        throw new StateConflict(
          `An application named '${input.name}' already exists in this team.`,
        );
      throw error;
    }
  }

  list(includeInactive = false): Promise<ApplicationEntity[]> {
    return this.applications.find({
      where: includeInactive ? {} : { active: true },
      order: { id: 'ASC' },
    });
  }

  async get(id: number): Promise<ApplicationEntity> {
    const app = await this.applications.findOneBy({ id });
    if (!app) throw new ApplicationNotFound(id);
    return app;
  }

  async update(id: number, input: UpdateApplicationDto): Promise<ApplicationEntity> {
    const app = await this.get(id);
    if (input.name !== undefined) app.name = input.name.trim();
    if (input.url !== undefined) app.url = input.url;
    if (input.description !== undefined) app.description = input.description;
    try {
      return await this.applications.save(app);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new StateConflict(`An application named '${input.name}' already exists.`);
      throw error;
    }
  }

  /** Soft delete: the application keeps its tasks and scans; no new task can be queued for it. */
  async deactivate(id: number): Promise<ApplicationEntity> {
    const app = await this.get(id);
    app.active = false;
    return this.applications.save(app);
  }
}

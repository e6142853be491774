/**
 * ThreadFix's team calls (`/rest/{version}/teams/…`), one line per route. Rules of the roles table
 * (permission.ts ACCESS), after ThreadFix's RestMethod table: writes need Manage Teams and are
 * refused to restricted keys, reads need Read Access (docs/threadfix-compatibility.md).
 */
import { Controller, Delete, Get, Param, Put, Query, Req } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId, RestParams } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { rawQueryValue } from './custom-names';
import { ListTeamsParams, TeamJson, TeamListItemJson, TeamNameParams } from './team.dto';
import { TeamsService } from './teams.service';

const FORM = ['application/x-www-form-urlencoded', 'application/json'];

@ApiTags('teams (ThreadFix)')
@Controller('rest/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @RestPost('new')
  @RequireAccess(ACCESS.teamWrite)
  @ApiConsumes(...FORM)
  @ApiOperation({
    summary: 'Create a team (`name`: at most 59 characters, no HTML, unique)',
    description: 'A key limited to some teams cannot create one (403).',
  })
  @ApiEnvelope(TeamJson, { failures: [409] })
  create(
    @Caller() caller: AuthenticatedCaller,
    @RestParams() params: TeamNameParams,
  ): Promise<TeamJson> {
    return this.teams.create(caller, params.name);
  }

  @Get()
  @RequireAccess(ACCESS.teamRead)
  @ApiOperation({ summary: 'The active teams the key reaches, by name, with their applications' })
  @ApiEnvelope(TeamListItemJson, { isArray: true })
  list(
    @Caller() caller: AuthenticatedCaller,
    @Query() params: ListTeamsParams,
  ): Promise<TeamListItemJson[]> {
    return this.teams.list(caller, params.page, params.pageSize);
  }

  @Get('lookup')
  @RequireAccess(ACCESS.teamRead)
  @ApiOperation({ summary: 'A team by its exact name (`name`)' })
  @ApiEnvelope(TeamJson, { failures: [404] })
  lookup(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @Query() params: TeamNameParams,
  ): Promise<TeamJson> {
    return this.teams.lookup(caller, params.name, rawQueryValue(request.url, 'name'));
  }

  @Get(':teamId')
  @RequireAccess(ACCESS.teamRead)
  @ApiOperation({ summary: 'A team by id, with its active applications' })
  @ApiEnvelope(TeamJson, { failures: [404] })
  get(@Caller() caller: AuthenticatedCaller, @Param('teamId') teamId: string): Promise<TeamJson> {
    return this.teams.get(caller, parseId(teamId, 'teamId'));
  }

  @Put(':teamId/update')
  @RequireAccess(ACCESS.teamWrite)
  @ApiConsumes(...FORM)
  @ApiOperation({ summary: 'Rename a team (`name`; the create rules apply)' })
  @ApiEnvelope('string', { failures: [404, 409] })
  update(
    @Caller() caller: AuthenticatedCaller,
    @Param('teamId') teamId: string,
    @RestParams() params: TeamNameParams,
  ): Promise<string> {
    return this.teams.update(caller, parseId(teamId, 'teamId'), params.name);
  }

  @Delete(':teamId/delete')
  @RequireAccess(ACCESS.teamWrite)
  @ApiOperation({
    summary:
      'Soft-delete a team: renamed deleted-{id}-{name}, inactive, its applications deactivated',
  })
  @ApiEnvelope('string', { failures: [404, 409] })
  delete(@Caller() caller: AuthenticatedCaller, @Param('teamId') teamId: string): Promise<string> {
    return this.teams.delete(caller, parseId(teamId, 'teamId'));
  }
}

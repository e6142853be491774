/**
 * ThreadFix's team calls (`/rest/{version}/teams/…`), one line per route. Permissions are ThreadFix's
 * RestMethod table: writes need Manage Teams and are refused to restricted keys, reads need Read
 * Access (docs/threadfix-compatibility.md).
 */
import { Controller, Delete, Get, Param, Put, Query, Req } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId, RestParams } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { rawQueryValue } from './custom-names';
import { ListTeamsParams, TeamJson, TeamListItemJson, TeamNameParams } from './team.dto';
import { TeamsService } from './teams.service';

const FORM = ['application/x-www-form-urlencoded', 'application/json'];
const MANAGE_TEAMS = () => RequirePermission(Permission.CAN_MANAGE_TEAMS, { restricted: true });
const READ = () => RequirePermission(Permission.READ_ACCESS);

@ApiTags('teams (ThreadFix)')
@Controller('rest/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @RestPost('new')
  @MANAGE_TEAMS()
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
  @READ()
  @ApiOperation({ summary: 'The active teams the key reaches, by name, with their applications' })
  @ApiEnvelope(TeamListItemJson, { isArray: true })
  list(
    @Caller() caller: AuthenticatedCaller,
    @Query() params: ListTeamsParams,
  ): Promise<TeamListItemJson[]> {
    return this.teams.list(caller, params.page, params.pageSize);
  }

  @Get('lookup')
  @READ()
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
  @READ()
  @ApiOperation({ summary: 'A team by id, with its active applications' })
  @ApiEnvelope(TeamJson, { failures: [404] })
  get(@Caller() caller: AuthenticatedCaller, @Param('teamId') teamId: string): Promise<TeamJson> {
    return this.teams.get(caller, parseId(teamId, 'teamId'));
  }

  @Put(':teamId/update')
  @MANAGE_TEAMS()
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
  @MANAGE_TEAMS()
  @ApiOperation({
    summary:
      'Soft-delete a team: renamed deleted-{id}-{name}, inactive, its applications deactivated',
  })
  @ApiEnvelope('string', { failures: [404, 409] })
  delete(@Caller() caller: AuthenticatedCaller, @Param('teamId') teamId: string): Promise<string> {
    return this.teams.delete(caller, parseId(teamId, 'teamId'));
  }
}

/**
 * ThreadFix's application calls that scanqueue's own routes do not already serve, one line per
 * route: create an application in a team, look one up by team name, update one. (Application by id
 * is scanqueue's GET /rest/applications/{id}, whose JSON carries ThreadFix's fields too.)
 * Rules of the roles table (permission.ts ACCESS), after ThreadFix's RestMethod table
 * (docs/threadfix-compatibility.md).
 */
import { Controller, Get, Param, Put, Query, Req, UseFilters } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId, RestParams } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { rawQueryValue } from '../teams/custom-names';
import { FormValidationFilter } from './form-validation';
import {
  ApplicationLookupParams,
  CreateTeamApplicationParams,
  ThreadFixApplicationJson,
  UpdateThreadFixApplicationParams,
} from './threadfix-application.dto';
import { ThreadFixApplicationsService } from './threadfix-applications.service';

const FORM = ['application/x-www-form-urlencoded', 'application/json'];

@ApiTags('applications (ThreadFix)')
@Controller('rest')
export class ThreadFixApplicationsController {
  constructor(private readonly applications: ThreadFixApplicationsService) {}

  @RestPost('teams/:teamId/applications/new')
  @RequireAccess(ACCESS.applicationWrite)
  @ApiConsumes(...FORM)
  @ApiOperation({ summary: 'Create an application in a team (`name`, `url`, `description`)' })
  @ApiEnvelope(ThreadFixApplicationJson, { failures: [404, 409] })
  create(
    @Caller() caller: AuthenticatedCaller,
    @Param('teamId') teamId: string,
    @RestParams() params: CreateTeamApplicationParams,
  ): Promise<ThreadFixApplicationJson> {
    return this.applications.createInTeam(caller, parseId(teamId, 'teamId'), params);
  }

  @Get('applications/:teamName/lookup')
  @RequireAccess(ACCESS.applicationRead)
  @ApiOperation({
    summary: 'An active application by its team’s name (path) and its `name` or `uniqueId`',
  })
  @ApiEnvelope(ThreadFixApplicationJson, { failures: [404, 409] })
  lookup(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @Param('teamName') teamName: string,
    @Query() params: ApplicationLookupParams,
  ): Promise<ThreadFixApplicationJson> {
    return this.applications.lookup(caller, teamName, {
      name: params.name,
      rawName: rawQueryValue(request.url, 'name'),
      uniqueId: params.uniqueId,
      rawUniqueId: rawQueryValue(request.url, 'uniqueId'),
    });
  }

  @Put('applications/:applicationId/update')
  @RequireAccess(ACCESS.applicationWrite)
  @UseFilters(FormValidationFilter)
  @ApiConsumes(...FORM)
  @ApiOperation({
    summary:
      'Update name, url, uniqueId, applicationCriticality, team or description (the create rules apply)',
    description:
      'A validation failure is `Has validation errors` with `errorMap: {field: message}` beside the envelope. `repositoryUserName`/`repositoryPassword` are refused; the other repository parameters, `frameworkType`, `filterSet` and `skipApplicationMerge` are ignored.',
  })
  @ApiEnvelope('string', { failures: [404, 409] })
  @ApiResponse({
    status: 400,
    description: 'Has validation errors (with errorMap), or no parameters',
  })
  update(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @RestParams() params: UpdateThreadFixApplicationParams,
  ): Promise<string> {
    return this.applications.update(caller, parseId(applicationId, 'applicationId'), params);
  }
}

import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { RestPost } from '../rest/rest-post.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import {
  ApplicationDto,
  CreateApplicationDto,
  ListApplicationsDto,
  toApplicationDto,
  UpdateApplicationDto,
} from './application.dto';
import { ApplicationsService } from './applications.service';
import { ThreadFixApplicationJson } from './threadfix-application.dto';
import { ThreadFixApplicationsService } from './threadfix-applications.service';

@ApiTags('applications')
@Controller('rest/applications')
export class ApplicationsController {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly threadFix: ThreadFixApplicationsService,
  ) {}

  @RestPost()
  @ApiOperation({ summary: 'Create an application (a web app that agents scan)' })
  @RequireAccess(ACCESS.applicationWrite)
  @ApiEnvelope(ApplicationDto, { failures: [409] })
  async create(
    @Caller() caller: AuthenticatedCaller,
    @Body() input: CreateApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.create(input, caller));
  }

  @Get()
  @ApiOperation({ summary: 'List applications' })
  @RequireAccess(ACCESS.applicationRead)
  @ApiEnvelope(ApplicationDto, { isArray: true })
  async list(
    @Caller() caller: AuthenticatedCaller,
    @Query() query: ListApplicationsDto,
  ): Promise<ApplicationDto[]> {
    return (await this.applications.list(query.includeInactive, caller)).map(toApplicationDto);
  }

  // Also ThreadFix's "application by id": one route, whose JSON is both shapes (no field collides).
  @Get(':id')
  @ApiOperation({
    summary: 'Get one application (scanqueue’s fields and ThreadFix’s)',
    description:
      'Deactivated applications too (`active: false`); an application of a team the key does not reach is 404.',
  })
  @RequireAccess(ACCESS.applicationRead)
  @ApiEnvelope(ThreadFixApplicationJson, { failures: [404] })
  get(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ThreadFixApplicationJson> {
    return this.threadFix.detail(caller, parseId(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update name, url or description' })
  @RequireAccess(ACCESS.applicationWrite)
  @ApiEnvelope(ApplicationDto, { failures: [404, 409] })
  async update(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
    @Body() input: UpdateApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.update(parseId(id), input, caller));
  }

  @RestPost(':id/deactivate')
  @ApiOperation({
    summary: 'Deactivate (soft-delete) an application; its tasks and scans are kept',
  })
  @RequireAccess(ACCESS.applicationWrite)
  @ApiEnvelope(ApplicationDto, { failures: [404] })
  async deactivate(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.deactivate(parseId(id), caller));
  }
}

import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { RestPost } from '../rest/rest-post.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
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

const READ = [Permission.READ_ACCESS, Permission.CAN_MANAGE_APPLICATIONS];

@ApiTags('applications')
@Controller('rest/applications')
export class ApplicationsController {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly threadFix: ThreadFixApplicationsService,
  ) {}

  @RestPost()
  @ApiOperation({ summary: 'Create an application (a web app that agents scan)' })
  @RequirePermission(Permission.CAN_MANAGE_APPLICATIONS)
  @ApiEnvelope(ApplicationDto, { failures: [409] })
  async create(@Body() input: CreateApplicationDto): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.create(input));
  }

  @Get()
  @ApiOperation({ summary: 'List applications' })
  @RequirePermission(READ)
  @ApiEnvelope(ApplicationDto, { isArray: true })
  async list(@Query() query: ListApplicationsDto): Promise<ApplicationDto[]> {
    return (await this.applications.list(query.includeInactive)).map(toApplicationDto);
  }

  // Also ThreadFix's "application by id": one route, whose JSON is both shapes (no field collides).
  @Get(':id')
  @ApiOperation({
    summary: 'Get one application (scanqueue’s fields and ThreadFix’s)',
    description:
      'Deactivated applications too (`active: false`); an application of a team the key does not reach is 404.',
  })
  @RequirePermission(READ)
  @ApiEnvelope(ThreadFixApplicationJson, { failures: [404] })
  get(
    @Caller() caller: AuthenticatedCaller,
    @Param('id') id: string,
  ): Promise<ThreadFixApplicationJson> {
    return this.threadFix.detail(caller, parseId(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update name, url or description' })
  @RequirePermission(Permission.CAN_MANAGE_APPLICATIONS)
  @ApiEnvelope(ApplicationDto, { failures: [404, 409] })
  async update(
    @Param('id') id: string,
    @Body() input: UpdateApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.update(parseId(id), input));
  }

  @RestPost(':id/deactivate')
  @ApiOperation({
    summary: 'Deactivate (soft-delete) an application; its tasks and scans are kept',
  })
  @RequirePermission(Permission.CAN_MANAGE_APPLICATIONS)
  @ApiEnvelope(ApplicationDto, { failures: [404] })
  async deactivate(@Param('id') id: string): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.deactivate(parseId(id)));
  }
}

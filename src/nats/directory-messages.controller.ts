/**
 * Teams, applications and API keys over NATS: each pattern through its REST route's service,
 * behind its rule and team scope; the comment names the route.
 */
import { MessagePattern } from '@nestjs/microservices';
import {
  ApplicationDto,
  CreateApplicationDto,
  ListApplicationsDto,
  toApplicationDto,
} from '../applications/application.dto';
import { ApplicationsService } from '../applications/applications.service';
import { ThreadFixApplicationJson } from '../applications/threadfix-application.dto';
import { ThreadFixApplicationsService } from '../applications/threadfix-applications.service';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyDto } from '../auth/api-key.dto';
import { ApiKeysService } from '../auth/api-keys.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ListTeamsParams, TeamJson, TeamListItemJson, TeamNameParams } from '../teams/team.dto';
import { TeamsService } from '../teams/teams.service';
import { ServiceCaller } from './service-key.guard';
import {
  ApplicationLookupMessage,
  ApplicationUpdateMessage,
  IdMessage,
  TeamApplicationCreateMessage,
  TeamIdMessage,
  TeamUpdateMessage,
  ThreadFixApplicationUpdateMessage,
} from './service-messages.dto';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
export class DirectoryMessagesController {
  constructor(
    private readonly teams: TeamsService,
    private readonly applications: ApplicationsService,
    private readonly threadFixApplications: ThreadFixApplicationsService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /** POST rest/teams/new */
  @MessagePattern('teams.create')
  @RequireAccess(ACCESS.teamWrite)
  teamCreate(
    @ServiceCaller() caller: Caller,
    @Message() params: TeamNameParams,
  ): Promise<TeamJson> {
    return this.teams.create(caller, params.name);
  }

  /** GET rest/teams */
  @MessagePattern('teams.list')
  @RequireAccess(ACCESS.teamRead)
  teamList(
    @ServiceCaller() caller: Caller,
    @Message() params: ListTeamsParams,
  ): Promise<TeamListItemJson[]> {
    return this.teams.list(caller, params.page, params.pageSize);
  }

  /** GET rest/teams/lookup (the name as given: no query-string encoding to undo) */
  @MessagePattern('teams.lookup')
  @RequireAccess(ACCESS.teamRead)
  teamLookup(
    @ServiceCaller() caller: Caller,
    @Message() params: TeamNameParams,
  ): Promise<TeamJson> {
    return this.teams.lookup(caller, params.name, undefined);
  }

  /** GET rest/teams/:teamId */
  @MessagePattern('teams.get')
  @RequireAccess(ACCESS.teamRead)
  teamGet(@ServiceCaller() caller: Caller, @Message() params: TeamIdMessage): Promise<TeamJson> {
    return this.teams.get(caller, params.teamId);
  }

  /** PUT rest/teams/:teamId/update */
  @MessagePattern('teams.update')
  @RequireAccess(ACCESS.teamWrite)
  teamUpdate(
    @ServiceCaller() caller: Caller,
    @Message() params: TeamUpdateMessage,
  ): Promise<string> {
    return this.teams.update(caller, params.teamId, params.name);
  }

  /** DELETE rest/teams/:teamId/delete */
  @MessagePattern('teams.delete')
  @RequireAccess(ACCESS.teamWrite)
  teamDelete(@ServiceCaller() caller: Caller, @Message() params: TeamIdMessage): Promise<string> {
    return this.teams.delete(caller, params.teamId);
  }

  /** POST rest/applications */
  @MessagePattern('applications.create')
  @RequireAccess(ACCESS.applicationWrite)
  async applicationCreate(
    @ServiceCaller() caller: Caller,
    @Message() input: CreateApplicationDto,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.create(input, caller));
  }

  /** GET rest/applications */
  @MessagePattern('applications.list')
  @RequireAccess(ACCESS.applicationRead)
  async applicationList(
    @ServiceCaller() caller: Caller,
    @Message() query: ListApplicationsDto,
  ): Promise<ApplicationDto[]> {
    return (await this.applications.list(query.includeInactive, caller)).map(toApplicationDto);
  }

  /** GET rest/applications/:id (scanqueue's fields and ThreadFix's) */
  @MessagePattern('applications.get')
  @RequireAccess(ACCESS.applicationRead)
  applicationGet(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ThreadFixApplicationJson> {
    return this.threadFixApplications.detail(caller, params.id);
  }

  /** POST rest/teams/:teamId/applications/new */
  @MessagePattern('teams.createApplication')
  @RequireAccess(ACCESS.applicationWrite)
  teamApplicationCreate(
    @ServiceCaller() caller: Caller,
    @Message() { teamId, ...params }: TeamApplicationCreateMessage,
  ): Promise<ThreadFixApplicationJson> {
    return this.threadFixApplications.createInTeam(caller, teamId, params);
  }

  /** GET rest/applications/:teamName/lookup (the names as given: no query-string encoding to undo) */
  @MessagePattern('applications.lookup')
  @RequireAccess(ACCESS.applicationRead)
  applicationLookup(
    @ServiceCaller() caller: Caller,
    @Message() params: ApplicationLookupMessage,
  ): Promise<ThreadFixApplicationJson> {
    return this.threadFixApplications.lookup(caller, params.teamName, {
      name: params.name,
      uniqueId: params.uniqueId,
    });
  }

  /** PUT rest/applications/:applicationId/update (a validation failure carries its `errorMap`) */
  @MessagePattern('applications.threadFixUpdate')
  @RequireAccess(ACCESS.applicationWrite)
  applicationThreadFixUpdate(
    @ServiceCaller() caller: Caller,
    @Message() { applicationId, ...params }: ThreadFixApplicationUpdateMessage,
  ): Promise<string> {
    return this.threadFixApplications.update(caller, applicationId, params);
  }

  /** PATCH rest/applications/:id */
  @MessagePattern('applications.update')
  @RequireAccess(ACCESS.applicationWrite)
  async applicationUpdate(
    @ServiceCaller() caller: Caller,
    @Message() { id, ...input }: ApplicationUpdateMessage,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.update(id, input, caller));
  }

  /** POST rest/applications/:id/deactivate */
  @MessagePattern('applications.deactivate')
  @RequireAccess(ACCESS.applicationWrite)
  async applicationDeactivate(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ApplicationDto> {
    return toApplicationDto(await this.applications.deactivate(params.id, caller));
  }

  /** POST rest/api-keys (the plaintext key is in this one answer only) */
  @MessagePattern('apiKeys.create')
  @RequireAccess(ACCESS.apiKeys)
  async apiKeyCreate(
    @ServiceCaller() caller: Caller,
    @Message() input: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const created = { ...input, restricted: input.restricted ?? false };
    const { key, plaintext } = await this.apiKeys.create(created, caller);
    return { ...toApiKeyDto(key), apiKey: plaintext };
  }

  /** GET rest/api-keys */
  @MessagePattern('apiKeys.list')
  @RequireAccess(ACCESS.apiKeys)
  async apiKeyList(@ServiceCaller() caller: Caller): Promise<ApiKeyDto[]> {
    return (await this.apiKeys.list(caller)).map(toApiKeyDto);
  }

  /** POST rest/api-keys/:id/revoke */
  @MessagePattern('apiKeys.revoke')
  @RequireAccess(ACCESS.apiKeys)
  async apiKeyRevoke(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.revoke(params.id, caller));
  }
}

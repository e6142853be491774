import { Body, Controller, Get, Param } from '@nestjs/common';
import { RestPost } from '../rest/rest-post.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedCaller, Caller } from './authenticated-caller';
import { Permission } from './permission';
import { RequirePermission } from './require-permission.decorator';

@ApiTags('api-keys')
@Controller('rest/api-keys')
@RequirePermission(Permission.CAN_MANAGE_API_KEYS, { restricted: true })
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @RestPost()
  @ApiOperation({ summary: 'Create an API key; the key is shown only in this response' })
  @ApiEnvelope(CreatedApiKeyDto)
  async create(
    @Caller() caller: AuthenticatedCaller,
    @Body() input: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const { key, plaintext } = await this.apiKeys.create(
      { ...input, restricted: input.restricted ?? false },
      caller,
    );
    return { ...toApiKeyDto(key), apiKey: plaintext };
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (never their values)' })
  @ApiEnvelope(ApiKeyDto, { isArray: true })
  async list(): Promise<ApiKeyDto[]> {
    return (await this.apiKeys.list()).map(toApiKeyDto);
  }

  @RestPost(':id/revoke')
  @ApiOperation({ summary: 'Revoke an API key (permanent)' })
  @ApiEnvelope(ApiKeyDto, { failures: [404] })
  async revoke(@Param('id') id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.revoke(parseId(id)));
  }
}

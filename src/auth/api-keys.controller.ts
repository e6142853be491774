import { Body, Controller, Get, Param } from '@nestjs/common';
import { RestPost } from '../rest/rest-post.decorator';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedCaller, Caller } from './authenticated-caller';
import { ACCESS } from './permission';
import { RequireAccess } from './require-permission.decorator';

@ApiTags('api-keys')
@Controller('rest/api-keys')
@RequireAccess(ACCESS.apiKeys)
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
  @ApiOperation({
    summary: 'List API keys (never their values); a key limited to teams sees the keys within them',
  })
  @ApiEnvelope(ApiKeyDto, { isArray: true })
  async list(@Caller() caller: AuthenticatedCaller): Promise<ApiKeyDto[]> {
    return (await this.apiKeys.list(caller)).map(toApiKeyDto);
  }

  @RestPost(':id/revoke')
  @ApiOperation({
    summary:
      'Revoke an API key (permanent) and the agent keys it issued; only a key whose permissions and teams the caller holds',
  })
  @ApiEnvelope(ApiKeyDto, { failures: [404] })
  async revoke(@Caller() caller: AuthenticatedCaller, @Param('id') id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.revoke(parseId(id), caller));
  }
}

/**
 * `GET /auth/apikey`: the first request of the vendor's Python client (`ThreadFixProAPI(host, key)`
 * asks ThreadFix Pro's Networks API for a session before any other call) and the only thing it
 * reads from the answer is a `Set-Cookie` header: without one the constructor fails with
 * KeyError. scanqueue has no Networks API. It answers 404 in the envelope with a cookie that holds
 * nothing and expires at once, so the client's application calls (which carry the API key
 * themselves) go ahead. It checks nothing: the key is checked on every real call, and an
 * unauthenticated route that said whether a key is valid would be a free oracle.
 */
import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Public } from '../auth/require-permission.decorator';
import { RestFailureDto } from '../rest/api-envelope.decorator';
import { RawResponse } from '../rest/envelope.interceptor';
import { restFailure, RestResponse } from '../rest/rest-response';

export const NETWORKS_NOT_SUPPORTED = 'Networks API is not supported.';
export const HANDSHAKE_COOKIE = 'tfnetworks=unsupported; Path=/; Max-Age=0; HttpOnly';

@ApiTags('ThreadFix client handshake')
@Controller('auth')
export class NetworksHandshakeController {
  @Get('apikey')
  @Public()
  @RawResponse()
  @ApiOperation({
    summary: 'The vendor Python client’s first call: 404 with an empty, expired Set-Cookie',
    description:
      'No key is checked here (`apikey` header ignored); every later call checks its own `Authorization: APIKEY`.',
  })
  @ApiHeader({ name: 'apikey', required: false, description: 'sent by the client; ignored' })
  @ApiExtraModels(RestFailureDto)
  @ApiResponse({
    status: 404,
    description: `${NETWORKS_NOT_SUPPORTED} (with Set-Cookie)`,
    type: RestFailureDto,
  })
  handshake(@Res({ passthrough: true }) reply: FastifyReply): RestResponse<never> {
    void reply.status(HttpStatus.NOT_FOUND).header('set-cookie', HANDSHAKE_COOKIE);
    return restFailure(NETWORKS_NOT_SUPPORTED);
  }
}

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
import { ApiExcludeController } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Public } from '../auth/require-permission.decorator';
import { RawResponse } from '../rest/envelope.interceptor';
import { restFailure, RestResponse } from '../rest/rest-response';

export const NETWORKS_NOT_SUPPORTED = 'Networks API is not supported.';
export const HANDSHAKE_COOKIE = 'tfnetworks=unsupported; Path=/; Max-Age=0; HttpOnly';

// Not part of the API document: a stub for one client, like the operators' /health/live.
@ApiExcludeController()
@Controller('auth')
export class NetworksHandshakeController {
  @Get('apikey')
  @Public()
  @RawResponse()
  handshake(@Res({ passthrough: true }) reply: FastifyReply): RestResponse<never> {
    void reply.status(HttpStatus.NOT_FOUND).header('set-cookie', HANDSHAKE_COOKIE);
    return restFailure(NETWORKS_NOT_SUPPORTED);
  }
}

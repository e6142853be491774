/**
 * Health for load balancers, orchestrators and operators; no API key needed, plain JSON.
 * `/health/live`: the process answers (restart it if not). `/health/ready`: the database and scan
 * storage work (route traffic to it only then). `/health`: as before the split, the database only.
 */
import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Public } from '../auth/require-permission.decorator';
import { RawResponse } from '../rest/envelope.interceptor';
import { CheckState, HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly checks: HealthService) {}

  @Get()
  @Public()
  @RawResponse()
  @ApiOperation({
    summary: 'Liveness plus database readiness (503 when the database is unreachable)',
  })
  async health(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; database: CheckState }> {
    const database = await this.checks.database();
    if (database !== 'up') void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: database === 'up' ? 'ok' : 'degraded', database };
  }

  // The split endpoints are for operators (docs/operations.md), not part of the API document.
  @Get('live')
  @Public()
  @RawResponse()
  @ApiExcludeEndpoint()
  live(): { status: string } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @RawResponse()
  @ApiExcludeEndpoint()
  async ready(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; database: CheckState; storage: CheckState }> {
    const { ready, database, storage } = await this.checks.readiness();
    if (!ready) void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'ok' : 'degraded', database, storage };
  }
}

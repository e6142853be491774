/** Liveness and database readiness for load balancers and operators; no API key needed. */
import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { Public } from '../auth/require-permission.decorator';
import { RawResponse } from '../rest/envelope.interceptor';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  @Public()
  @RawResponse()
  @ApiOperation({
    summary: 'Liveness plus database readiness (503 when the database is unreachable)',
  })
  async health(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; database: string }> {
    const database = await this.dataSource
      .query('SELECT 1')
      .then(() => 'up')
      .catch(() => 'down');
    if (database !== 'up') void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: database === 'up' ? 'ok' : 'degraded', database };
  }
}

/**
 * `GET {CONTEXT_PATH}/metrics`: the Prometheus text format, outside ThreadFix's envelope. Open
 * without an API key, as Prometheus scrapes; registered only when METRICS_ENABLED (the default).
 * It shows counts and timings, never a key, a URL or an application name; keep it off the public
 * ingress (docs/operations.md).
 */
import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Public } from '../auth/require-permission.decorator';
import { RawResponse } from '../rest/envelope.interceptor';
import { MetricsService } from '../observability/metrics.service';

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Public()
  @RawResponse()
  @ApiExcludeEndpoint()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.render();
    void reply.header('content-type', contentType).header('cache-control', 'no-store');
    return body;
  }
}

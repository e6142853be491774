/**
 * Builds the scanqueue HTTP application (used by main.ts, the tests and the benchmarks): Fastify
 * with ThreadFix's URL space, multipart limits and Swagger UI. (Errors Fastify raises itself, such
 * as body-parser limits, reach the same exception filter through Nest's error handler.)
 */
import fastifyMultipart from '@fastify/multipart';
import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { rewriteRestUrl } from './rest/rest-url';

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export function openApiDocumentConfig(contextPath: string) {
  return new DocumentBuilder()
    .setTitle('scanqueue')
    .setDescription(
      "The work queue between the platform and its scan agents. Agent routes are ThreadFix's Scan Agent " +
        '"Tasks" API: every path also answers under `/rest/{version}/…` (`latest`, `v2.8`, `2.4`…), with or ' +
        'without the context path. Every response is the envelope `{message, success, responseCode, object}`. ' +
        'Authorize with `APIKEY <your key>`.',
    )
    .setVersion('1.0')
    .addServer(contextPath || '/')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'Authorization', description: 'APIKEY <key>' },
      'APIKEY',
    )
    .build();
}

export async function createApp(
  config: AppConfig,
  options: { logger?: false } = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.MAX_FIELD_BYTES,
    rewriteUrl: (request: { url?: string }) =>
      rewriteRestUrl(request.url ?? '/', config.CONTEXT_PATH),
    // Agents poll; keep their connections.
    keepAliveTimeout: 65_000,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger:
      options.logger ?? LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.LOG_LEVEL as LogLevel) + 1),
    abortOnError: false,
  });
  await app.register(fastifyMultipart, {
    // Per-route limits are passed where the parts are read; these are the ceilings.
    limits: {
      fileSize: Math.max(config.MAX_UPLOAD_BYTES, config.MAX_CONFIG_BYTES),
      fields: config.MAX_MULTIPART_FIELDS,
      fieldSize: config.MAX_FIELD_BYTES,
      parts: config.MAX_MULTIPART_PARTS,
      files: 1,
    },
  });
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(app, openApiDocumentConfig(config.CONTEXT_PATH));
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
  await app.init();
  return app;
}

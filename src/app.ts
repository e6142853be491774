/**
 * Builds the scanqueue HTTP application (used by main.ts, the tests and the benchmarks): Fastify
 * with ThreadFix's URL space, multipart limits and Swagger UI. (Errors Fastify raises itself, such
 * as body-parser limits, reach the same exception filter through Nest's error handler.)
 */
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import { STATUS_CODES } from 'node:http';
import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { createOpenApiDocument, setupSwaggerUi } from './openapi/openapi-document';
import { rewriteRestUrl } from './rest/rest-url';
import { presentedApiKey } from './auth/api-key.guard';
import { hashSecretKey } from './auth/secret-keys';
import { ServiceUnavailable, TooManyRequests } from './rest/rest-error';
import { restFailure } from './rest/rest-response';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when shutdown begins: new requests are refused, in-flight ones finish. */
    draining: boolean;
  }
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

export interface CreateAppOptions {
  logger?: false;
  /**
   * Nest's preview mode: modules, routes and the OpenAPI document are built but no provider is
   * instantiated, so nothing connects to a database or storage (how `npm run openapi` exports the
   * document). Such an app cannot serve the API, only its documentation.
   */
  preview?: boolean;
}

export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.MAX_FIELD_BYTES,
    rewriteUrl: (request: { url?: string }) =>
      rewriteRestUrl(request.url ?? '/', config.CONTEXT_PATH),
    // Agents poll; keep their connections.
    keepAliveTimeout: 65_000,
    requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
    // Shutdown: refuse new requests in the envelope (hook below), let in-flight ones finish.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Requests Node's HTTP parser refuses (bad method, oversized headers, control characters) never
    // reach a route: answer them in the envelope too, and close the connection explicitly.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return socket.destroy();
      const code = (error as NodeJS.ErrnoException).code;
      const [status, message]: [number, string] =
        code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'The request headers are too large.']
          : code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'The request took too long to arrive.']
            : [400, 'The request is not valid HTTP.'];
      const body = JSON.stringify(restFailure(message));
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger:
      options.logger ?? LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.LOG_LEVEL as LogLevel) + 1),
    abortOnError: false,
    preview: options.preview ?? false,
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
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorate('draining', false);
  fastify.addHook('onRequest', async (_request, reply) => {
    if (!fastify.draining) return;
    void reply.header('connection', 'close');
    throw new ServiceUnavailable('scanqueue is shutting down; retry shortly.');
  });
  if (config.RATE_LIMIT_PER_MINUTE > 0) {
    await app.register(fastifyRateLimit, {
      max: config.RATE_LIMIT_PER_MINUTE,
      timeWindow: 60_000,
      // Per API key (hashed: the limiter's memory holds no keys); per address without one.
      keyGenerator: (request) => {
        const key = presentedApiKey(request);
        return key ? `key:${hashSecretKey(key)}` : `ip:${request.ip}`;
      },
      allowList: (request) => request.routeOptions.url === '/health',
      errorResponseBuilder: (_request, context) =>
        new TooManyRequests(
          `Rate limit exceeded: ${context.max} requests per minute for this API key; retry in ${context.after}.`,
        ),
    });
  }

  setupSwaggerUi(app, createOpenApiDocument(app, config.CONTEXT_PATH));
  await app.init();
  return app;
}

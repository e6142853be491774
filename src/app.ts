/**
 * Builds the scanqueue HTTP application (used by main.ts, the tests and the benchmarks): Fastify
 * with ThreadFix's URL space, multipart limits and Swagger UI, JSON logs with a request id on every
 * line and HTTP metrics, and the edge bounds every request meets before its route (src/edge: rate
 * limits, authentication before the body, the body deadline). (Errors Fastify raises itself, such as body-parser limits, reach the same
 * exception filter through Nest's error handler.)
 */
import fastifyMultipart from '@fastify/multipart';
import { STATUS_CODES } from 'node:http';
import type { LogLevel } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { createOpenApiDocument, setupSwaggerUi } from './openapi/openapi-document';
import { rewriteRestUrl } from './rest/rest-url';
import { RequestEdge } from './edge/request-edge';
import { installRequestTaskLane } from './edge/request-task-lane';
import { TasksController } from './tasks/tasks.controller';
import { ServiceUnavailable } from './rest/rest-error';
import { REST_CONTENT_TYPE, restFailure } from './rest/rest-response';
import { createRootLogger, NestPinoLogger, RootLogger } from './observability/logger';
import { MetricsService } from './observability/metrics.service';
import {
  installRequestContext,
  RequestLogController,
  requestIdOf,
} from './observability/request-context';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when shutdown begins: new requests are refused, in-flight ones finish. */
    draining: boolean;
  }
}

export interface CreateAppOptions {
  logger?: false | RootLogger;
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
  const logger =
    options.logger ??
    createRootLogger({ level: config.LOG_LEVEL as LogLevel, instance: config.instanceId });
  const adapter = new FastifyAdapter({
    // One pino instance for Fastify's request lines and Nest's Logger (observability/logger.ts).
    loggerInstance: logger || undefined,
    logController: new RequestLogController(),
    // The caller's x-request-id when well-formed (checked in requestIdOf), else a new UUID.
    requestIdHeader: false,
    genReqId: requestIdOf,
    bodyLimit: config.MAX_FIELD_BYTES,
    rewriteUrl: (request: { url?: string }) =>
      rewriteRestUrl(request.url ?? '/', config.CONTEXT_PATH),
    // Agents poll; keep their connections.
    keepAliveTimeout: 65_000,
    // The whole of an upload; every other body has BODY_TIMEOUT_SECONDS (src/rest/body-deadline.ts).
    requestTimeout: config.REQUEST_TIMEOUT_SECONDS * 1000,
    http: {
      // Headers must arrive within the short deadline too (slowloris), checked every second.
      headersTimeout: config.BODY_TIMEOUT_SECONDS * 1000,
      connectionsCheckingInterval: 1000,
    },
    // The client address of the rate limit and the logs (TRUST_PROXY).
    trustProxy: config.trustProxy,
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
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${REST_CONTENT_TYPE}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: logger ? new NestPinoLogger(logger) : false,
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
  // First: every later hook, refusal included, runs with the request id set.
  installRequestContext(fastify);
  // No response is to be sniffed into another type (an error envelope into HTML, say).
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.header('x-content-type-options', 'nosniff');
    done();
  });
  // Preview mode instantiates no provider (there are no requests to measure either).
  if (!options.preview) app.get(MetricsService).observeHttp(fastify);
  fastify.decorate('draining', false);
  // A callback, not an async hook: a promise per request is dear while the request context's
  // async hooks run (src/edge/request-edge.ts).
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!fastify.draining) return done();
    void reply.header('connection', 'close');
    done(new ServiceUnavailable('scanqueue is shutting down; retry shortly.'));
  });
  // The address's rate limit, authentication before the body, the key's rate limit, the body
  // deadline: after the shutdown refusal, before the body is read.
  if (!options.preview) app.get(RequestEdge).install(fastify);
  // The agents' polls, after the edge, in front of Nest's pipeline (src/edge/request-task-lane.ts).
  if (!options.preview)
    installRequestTaskLane(fastify, app.get(TasksController), app.get(Reflector));

  setupSwaggerUi(app, createOpenApiDocument(app, config.CONTEXT_PATH), {
    persistAuthorization: config.SWAGGER_PERSIST_AUTHORIZATION,
  });
  await app.init();
  return app;
}

/**
 * The request a line of code runs for: its id (from a well-formed incoming `x-request-id`, else a
 * new UUID), echoed in the `x-request-id` response header, and its child logger, kept in an
 * AsyncLocalStorage so Nest's `Logger` calls made anywhere below a route (services, filters)
 * write through it and carry the id. Fastify's request-lifecycle lines go through a log
 * controller that logs URLs redacted.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';

export const REQUEST_ID_HEADER = 'x-request-id';
/** A caller's id is used when it is this shape (UUIDs, ULIDs, trace ids); anything else is replaced. */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:=+/-]{1,128}$/;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The route pattern the request came in on (`/rest/tasks/:id`; undefined when none matched),
     * read once: Fastify's `routeOptions` getter builds a twelve-field object on every read, and
     * the edge, the lane and the metrics each need it. A route that later hands the request to the
     * 404 handler (a missing static file) keeps its pattern here; `request.is404` tells.
     */
    routeUrl?: string;
  }
}

interface RequestContext {
  /** Fastify's request logger: a child of our pino root (app.ts), bound to the request id. */
  log: Logger;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The logger of the request being handled, if any (its lines carry `reqId`). */
export function currentRequestLogger(): Logger | undefined {
  return storage.getStore()?.log;
}

/** Fastify's `genReqId`: the caller's `x-request-id` when well-formed, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTED_REQUEST_ID.test(incoming)
    ? incoming
    : randomUUID();
}

/**
 * Fastify's lines about each request: "request received" at debug, "request completed" at info
 * (one line per request at LOG_LEVEL=log), both with the redacted URL and the route pattern.
 */
export class RequestLogController extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'reqId' });
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'request received');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      req: request,
      res: reply,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
    };
    // A response stream that failed: the client went away mid-response, not a server fault.
    if (error) reply.log.warn({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request completed');
  }
}

/** Sets the request id header, the route and the logging context; add before any other hook. */
export function installRequestContext(fastify: FastifyInstance): void {
  fastify.decorateRequest('routeUrl', undefined);
  fastify.addHook('onRequest', (request, reply, done) => {
    request.routeUrl = request.routeOptions.url;
    void reply.header(REQUEST_ID_HEADER, request.id);
    // Everything after this hook runs in the store, body parsing included: Fastify 5 runs its
    // content-type parsers in an AsyncResource of the request (content-type-parser.js), so the
    // guards and the handler that follow the body's 'end' keep it (tested with a split body).
    storage.run({ log: request.log as Logger }, done);
  });
}

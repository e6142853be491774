/**
 * The one place errors become the ThreadFix envelope: domain RestErrors, Nest's HttpExceptions,
 * Fastify's own errors (body parsing, multipart limits) and anything unexpected (500, logged,
 * never echoed). Business failures keep ThreadFix's message text with the fitting HTTP status.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import {
  CannotExecuteNotConnectedError,
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { hideParameters } from '../observability/query-logger';
import { settleUnreadBody } from './unread-body';
import { RestError, UnrecognizedPath } from './rest-error';
import { restFailure, RestResponse } from './rest-response';

const UNRECOGNIZED_PATH = new UnrecognizedPath().message;
const UNEXPECTED = 'An unexpected error occurred; it has been logged.';

const logger = new Logger('RestExceptionFilter');

/** Fastify and @fastify/multipart error codes that are the client's fault. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, message: 'The uploaded file is too large.' },
  FST_PARTS_LIMIT: { status: 413, message: 'The request has too many multipart parts.' },
  FST_FILES_LIMIT: { status: 413, message: 'The request has too many files.' },
  FST_FIELDS_LIMIT: { status: 413, message: 'The request has too many form fields.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: 'Unsupported Content-Type.' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 415,
    message: 'The request is not multipart/form-data.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: 'The JSON body is not valid JSON.' },
  FST_PROTO_VIOLATION: {
    status: 400,
    message: 'The request body contains a forbidden property name.',
  },
};

/**
 * Connection-level failures (server down or restarting, failover, a backend terminated, pool
 * exhausted): nothing is wrong with the request, and the client may retry it.
 */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND', // the server's name during a failover (the database was reachable at boot)
  'EAI_AGAIN',
]);
/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01–57P05 (admin/crash shutdown, cannot
 * connect now, database dropped, idle-session timeout), 25P03 (idle-in-transaction timeout: the
 * session is closed) and 53300 (too many connections: capacity, not a bug).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-5]|25P03|53300)$/;
/**
 * What pg and pg-pool say without a code: a socket that closed, a client whose connection broke
 * (the next query on it, or a rollback, fails with "not queryable"), no connection within the
 * pool's timeout, the pool closed by shutdown.
 */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|is not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end/;
/**
 * TypeORM's errors when the connection of a transaction broke between two of its queries: pg
 * reported it as an 'error' event, TypeORM released the connection, and the next query (or the
 * manager) refuses to run. And a data source already closed by shutdown.
 */
const UNAVAILABLE_TYPEORM = [
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
  CannotExecuteNotConnectedError,
];

/**
 * Whether the error (or the error it wraps: TypeORM's driverError, a cause, the attempts of an
 * AggregateError such as a connect to every address of a name) means the database cannot be
 * reached now. Such errors carry no PostgreSQL code of a failed statement; they become 503.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 4) return false;
  if (UNAVAILABLE_TYPEORM.some((type) => error instanceof type)) return true;
  const { code, message, driverError, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.test(code)))
    return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  return [driverError, cause, ...(Array.isArray(errors) ? errors : [])].some((inner) =>
    isDatabaseUnavailable(inner, depth + 1),
  );
}

export function toRestFailure(error: unknown): { status: number; body: RestResponse<never> } {
  if (error instanceof RestError)
    return { status: error.httpStatus, body: restFailure(error.message) };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const text =
      typeof response === 'string'
        ? response
        : ([] as unknown[])
            .concat((response as { message?: unknown }).message ?? error.message)
            .join('; ');
    // Nest's router answers unmatched routes with "Cannot GET /path".
    if (status === 404 && /^Cannot [A-Z-]+ /.test(text))
      return { status, body: restFailure(UNRECOGNIZED_PATH) };
    if (status === 413)
      return {
        status,
        body: restFailure(FASTIFY_CLIENT_ERRORS.FST_ERR_CTP_BODY_TOO_LARGE.message),
      };
    if (status >= 500) return { status, body: restFailure(UNEXPECTED) };
    return { status, body: restFailure(text) };
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && FASTIFY_CLIENT_ERRORS[code]) {
    const known = FASTIFY_CLIENT_ERRORS[code];
    return { status: known.status, body: restFailure(known.message) };
  }
  if (isDatabaseUnavailable(error)) {
    logger.warn(`Database unavailable: ${(error as Error).message}`);
    return { status: 503, body: restFailure('The database is unavailable; retry shortly.') };
  }
  const statusCode = (error as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, body: restFailure((error as Error).message || 'Bad request.') };
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  // The database may echo a parameter (a URL with a password) in its message.
  logger.error(error instanceof QueryFailedError ? hideParameters(text, error.parameters) : text);
  return { status: 500, body: restFailure(UNEXPECTED) };
}

@Catch()
export class RestExceptionFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    sendRestFailure(request, reply, error);
  }
}

export function sendRestFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): void {
  const { status, body } = toRestFailure(error);
  if (reply.sent) return;
  if (status >= 400) settleUnreadBody(request, reply);
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

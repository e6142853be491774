/**
 * The one place errors become the ThreadFix envelope: domain RestErrors, Nest's HttpExceptions,
 * Fastify's own errors (body parsing, multipart limits) and anything unexpected (500, logged,
 * never echoed). Business failures keep ThreadFix's message text with the fitting HTTP status.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from '../errors/database-unavailable';
import { hideParameters } from '../observability/query-logger';
import { settleUnreadBody } from './unread-body';
import { RestError, UnrecognizedPath } from './rest-error';
import { REST_CONTENT_TYPE, restFailure, RestResponse } from './rest-response';

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
  void reply.status(status).header('content-type', REST_CONTENT_TYPE).send(body);
}

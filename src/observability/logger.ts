/**
 * Structured logs: one JSON object per line on stdout, from one pino instance that Fastify (its
 * request logger) and Nest (every `new Logger(context)` in the code base) both write through.
 * Lines written while a request is handled carry its `reqId`, whichever of the two wrote them
 * (request-context.ts), and no line carries a secret: headers are never serialized (and
 * `authorization` is redacted should one be logged), URLs lose the values of key parameters.
 */
import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACTED, redactUrl } from './redact-url';
import { currentRequestLogger } from './request-context';

export type RootLogger = Logger;

/** LOG_LEVEL keeps Nest's names (the README's); pino has its own for the same levels. */
export const PINO_LEVEL: Readonly<Record<LogLevel, LevelWithSilent>> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** What a request looks like in a log line: never its headers or body. */
interface LoggableRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  routeOptions?: { url?: string };
}

export function serializeRequest(request: LoggableRequest): Record<string, unknown> {
  return {
    method: request.method,
    // originalUrl: as the client sent it, before the context path and version are rewritten.
    url: redactUrl(request.originalUrl ?? request.url ?? ''),
    route: request.routeOptions?.url,
  };
}

/** Type, message, code and stack only: a driver error's other fields may hold query parameters. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  return {
    type: error.constructor.name,
    message: error.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    stack: error.stack,
  };
}

export function createRootLogger(
  options: { level?: LogLevel; instance?: string; destination?: pino.DestinationStream } = {},
): RootLogger {
  return pino(
    {
      level: PINO_LEVEL[options.level ?? 'log'],
      base: { pid: process.pid, ...(options.instance ? { instance: options.instance } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Upper-case labels as Nest printed them (operators grep for ERROR and WARN).
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      serializers: {
        req: serializeRequest,
        res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
        err: serializeError,
      },
      // The serializers above leave headers out; this covers raw objects, such as the busboy
      // options (request headers included) @fastify/multipart logs at trace.
      redact: {
        paths: [
          'headers.authorization',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers.cookie',
          'req.query.apiKey',
          'req.query.scanAgentSecureKey',
          'req.query.secureTaskKey',
        ],
        censor: REDACTED,
      },
    },
    options.destination,
  );
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** Nest's ConsoleLogger recognises a stack trace the same way. */
const looksLikeStack = (value: unknown): value is string =>
  typeof value === 'string' && /\n[ \t]+at .+:\d+:\d+/.test(value);

/**
 * Nest's LoggerService over pino. Nest's `Logger` appends its context as the last argument, and
 * `error`/`fatal` may carry a stack trace before it; plain objects become fields of the line.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly root: RootLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params, false);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params, false);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params, false);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params, false);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params, true);
  }

  private write(
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace',
    message: unknown,
    params: unknown[],
    mayHaveStack: boolean,
  ): void {
    // Inside a request: its child logger, which carries the request id.
    const logger = currentRequestLogger() ?? this.root;
    if (!logger.isLevelEnabled(level)) return;
    const args = [...params];
    const fields: Record<string, unknown> = {};
    const last = args.at(-1);
    if (typeof last === 'string' && !(mayHaveStack && args.length === 1 && looksLikeStack(last))) {
      fields.context = args.pop();
    }
    if (
      mayHaveStack &&
      args.length > 0 &&
      (args.at(-1) === undefined || looksLikeStack(args.at(-1)))
    ) {
      const stack = args.pop();
      if (stack !== undefined) fields.stack = stack;
    }
    const extra: unknown[] = [];
    for (const arg of args) {
      if (isPlainObject(arg)) Object.assign(fields, arg);
      else extra.push(arg);
    }
    if (extra.length > 0) fields.params = extra;
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, message.message);
    } else if (isPlainObject(message)) {
      logger[level]({ ...message, ...fields });
    } else {
      logger[level](fields, String(message));
    }
  }
}

/**
 * TypeORM's log lines through Nest's Logger (so they are JSON lines with the request id), without
 * query parameters: a parameter may be a key's hash, a target URL with `user:password@`, an agent's
 * config. A failed query is logged with its SQL text and the driver's error; the error's message
 * and stack lose any parameter value the database echoed in them ("invalid input syntax …: "…"").
 */
import { Logger as NestLogger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';

/** As the log redaction writes it (src/observability/redact-url.ts). */
const REDACTED = '[REDACTED]';

/** Shorter strings (ids, flags, scanner names) are no secrets, and hiding them would garble messages. */
const MIN_HIDDEN_LENGTH = 4;

/** Every string parameter's value that could be echoed back, longest first. */
function hiddenValues(parameters: unknown): string[] {
  const list = Array.isArray(parameters)
    ? parameters
    : parameters && typeof parameters === 'object'
      ? Object.values(parameters)
      : [];
  return list
    .flat()
    .filter((value): value is string => typeof value === 'string')
    .filter((value) => value.length >= MIN_HIDDEN_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/** `text` (an error's message or stack) with every value of `parameters` it echoes hidden. */
export function hideParameters(text: string, parameters: unknown): string {
  return hide(text, hiddenValues(parameters));
}

function hide(text: string, values: readonly string[]): string {
  let hidden = text;
  for (const value of values) hidden = hidden.split(value).join(REDACTED);
  return hidden;
}

/** The error as the log shows it: type, message, SQLSTATE and stack, parameters hidden. */
export function loggedQueryError(error: unknown, parameters: unknown): Record<string, unknown> {
  const values = hiddenValues(parameters);
  if (!(error instanceof Error)) return { message: hide(String(error), values) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.constructor.name,
    message: hide(error.message, values),
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack ? { stack: hide(error.stack, values) } : {}),
  };
}

export class QueryLogger implements TypeOrmLogger {
  /** Statements this process has sent to PostgreSQL (the metric scanqueue_database_queries_total). */
  static sent = 0;

  private readonly logger = new NestLogger('TypeORM');

  logQuery(): void {
    // Counted, never logged: a query log would be a parameter log.
    QueryLogger.sent++;
  }

  logQueryError(error: string | Error, query: string, parameters?: unknown[]): void {
    this.logger.error('Query failed', { sql: query, error: loggedQueryError(error, parameters) });
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn('Slow query', { sql: query, ms: time });
  }

  logSchemaBuild(message: string): void {
    this.logger.log(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.log(String(message));
  }
}

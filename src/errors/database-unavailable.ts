/**
 * Whether an error means the database could not be reached or dropped the connection (not that a
 * statement failed): the REST edge answers 503, and the upload room asks again whether a COMMIT
 * whose connection broke went through.
 */
import {
  CannotExecuteNotConnectedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';

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

/**
 * Domain errors that reach the wire. Each carries the HTTP status that fits (decisions.md) and the
 * ThreadFix message text, which clients match on; the exception filter turns them into the envelope.
 */
export abstract class RestError extends Error {
  abstract readonly httpStatus: number;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: a missing, malformed or out-of-range parameter. */
export class BadRestParameter extends RestError {
  readonly httpStatus = 400;
}

/** 401: no API key, or one that is unknown or revoked. */
export class AuthenticationFailed extends RestError {
  readonly httpStatus = 401;
}

/** 403: the caller is known but may not do this (permission, restricted key, foreign task/agent key). */
export class Forbidden extends RestError {
  readonly httpStatus = 403;
}

/** 404: the named resource does not exist. */
export class NotFound extends RestError {
  readonly httpStatus = 404;
}

/** 404 for a path no route serves (ThreadFix's UnknownRestController text). */
export class UnrecognizedPath extends NotFound {
  constructor() {
    super('Bad rest request due to unrecognized path.');
  }
}

/** 409: the resource's state forbids the call. */
export class StateConflict extends RestError {
  readonly httpStatus = 409;
}

/** 408: the client stopped sending mid-request. */
export class RequestTimedOut extends RestError {
  readonly httpStatus = 408;
}

/** 429: over the per-key request rate. */
export class TooManyRequests extends RestError {
  readonly httpStatus = 429;
}

/** 503: the instance is shutting down (or not ready); the client should retry elsewhere or later. */
export class ServiceUnavailable extends RestError {
  readonly httpStatus = 503;
}

/** 413: a body, file or field over its configured limit. */
export class PayloadTooLarge extends RestError {
  readonly httpStatus = 413;
}

/** 422: an upload that is not a valid result of the task's scanner (or not valid at all). */
export class UnprocessableScanFile extends RestError {
  readonly httpStatus = 422;
}

/** 415: a body of a type the route does not read (e.g. completeTask without multipart). */
export class UnsupportedMediaType extends RestError {
  readonly httpStatus = 415;
}

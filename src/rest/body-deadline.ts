/**
 * The short body deadline (BODY_TIMEOUT_SECONDS): a request's body must have arrived this long
 * after its headers, on every route but the uploads, and on those too until the caller is
 * authenticated. A slow or stalled body (slowloris) then costs a connection for seconds, not for
 * REQUEST_TIMEOUT_SECONDS.
 *
 * At the deadline, a body still being read fails its reader with 408: Fastify's body parser and
 * @fastify/multipart both listen for 'error' on the raw request, so the answer goes through the
 * normal error path (one 408 in the envelope, `connection: close`). A body nobody reads yet gets the
 * 408 at once; one still trickling in after an early refusal is cut off with its connection.
 */
import { FastifyReply, FastifyRequest } from 'fastify';
import { RequestTimedOut } from './rest-error';

interface Deadline {
  timer: NodeJS.Timeout;
  expired: boolean;
}

const deadlines = new WeakMap<FastifyRequest, Deadline>();

export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
  );
}

/** Starts the deadline of a request that has a body still to arrive. */
export function armBodyDeadline(request: FastifyRequest, reply: FastifyReply, ms: number): void {
  const raw = request.raw;
  if (!hasBody(request) || raw.readableEnded || deadlines.has(request)) return;
  // All of it is in the buffer already (a small form comes in one packet with its headers): a
  // timer would only be cleared again. Only the edge's hook sees that, as it runs after an
  // asynchronous onRequest hook (@fastify/multipart's), once Node has parsed the packet's body;
  // from a synchronous first hook the body is not read yet and the timer is armed, as before.
  const length = request.headers['content-length'];
  if (length !== undefined && raw.readableLength >= Number(length)) return;
  const deadline: Deadline = {
    expired: false,
    timer: setTimeout(() => expire(request, reply, deadline, ms), ms),
  };
  deadlines.set(request, deadline);
  const arrived = () => clearTimeout(deadline.timer);
  raw.once('end', arrived);
  raw.once('close', arrived);
}

/**
 * The body may take its time now (an authenticated upload: its own timeouts apply), or it came
 * and was taken from the buffer (buffered-form.ts), which brings no 'end'.
 */
export function releaseBodyDeadline(request: FastifyRequest): void {
  const deadline = deadlines.get(request);
  if (deadline) clearTimeout(deadline.timer);
}

/** The request's body missed its deadline: its connection is not worth keeping. */
export function bodyTimedOut(request: FastifyRequest): boolean {
  return deadlines.get(request)?.expired === true;
}

function expire(
  request: FastifyRequest,
  reply: FastifyReply,
  deadline: Deadline,
  ms: number,
): void {
  const raw = request.raw;
  if (raw.readableEnded || raw.destroyed) return;
  deadline.expired = true;
  if (reply.sent) {
    // Refused already; the rest of the body was being drained.
    raw.destroy();
    return;
  }
  const error = new RequestTimedOut(`The request body did not arrive within ${ms / 1000} s.`);
  void reply.header('connection', 'close');
  if (raw.listenerCount('error') > 0) raw.emit('error', error);
  else reply.send(error);
}

import { FastifyReply, FastifyRequest } from 'fastify';
import { bodyTimedOut } from './body-deadline';

/** A refused body up to this size is read and dropped; a larger one is cut off. */
export const DRAIN_LIMIT = 8 * 1024 * 1024;

/**
 * A refusal may come before the body is all read: Fastify refuses an over-limit body unread, a
 * multipart read stops at a bad key, file or limit. Nothing then reads the rest, and the next request
 * on that keep-alive connection would wait behind it (or a client still writing gets EPIPE when the
 * connection is cut). So the rest of a small body is read and dropped and the connection stays
 * healthy; a large or unknown-size one is cut off with `connection: close`. Draining is bounded in
 * time by the body deadline (body-deadline.ts), which cuts a body that trickles in.
 */
export function settleUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  const hasBody =
    request.headers['content-length'] !== undefined ||
    request.headers['transfer-encoding'] !== undefined;
  if (!hasBody || raw.readableEnded || raw.destroyed) return;
  // A body that missed its deadline (body-deadline.ts) would not arrive in time to be drained either.
  if (!bodyTimedOut(request) && Number(request.headers['content-length']) <= DRAIN_LIMIT) {
    // A `connection: close` set before (Fastify's after a refused body) goes; with none set,
    // nothing is removed, as that would also drop Node's own Connection/Keep-Alive headers.
    if (reply.hasHeader('connection')) reply.removeHeader('connection');
    raw.unpipe(); // from a multipart parser that gave up
    raw.resume();
  } else {
    reply.header('connection', 'close');
  }
}

/**
 * A small urlencoded form taken straight from the request's buffer, where it is already whole: an
 * agent's poll (a few hundred bytes) comes in the packet of its headers, and Node has read it by
 * the time a hook that runs after an asynchronous one (@fastify/multipart's onRequest) looks.
 * Taking it there spares the poll Fastify's body reading (stream events, the content-type parser,
 * two hook phases). It is parsed as Nest's urlencoded parser parses a body (fast-querystring over
 * its UTF-8 text), so a route sees the same form either way. Anything else is left to Fastify: a
 * body still arriving, over the limit, chunked or of another type, and a form Nest's parser
 * refuses (a `__proto__` field), which is put back for it to refuse as it does.
 */
import type { FastifyRequest } from 'fastify';
import { parse } from 'fast-querystring';
import { releaseBodyDeadline } from './body-deadline';

export const isUrlencoded = (request: FastifyRequest) =>
  /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '');

/** The form, read and parsed, when all of the body is in the buffer; else undefined, nothing read. */
export function takeBufferedForm(
  request: FastifyRequest,
  bodyLimit: number,
): Record<string, string | string[]> | undefined {
  const raw = request.raw;
  const length = Number(request.headers['content-length']);
  if (
    !(length > 0 && length <= bodyLimit) ||
    raw.readableLength !== length ||
    request.headers['transfer-encoding'] !== undefined ||
    !isUrlencoded(request)
  )
    return undefined;
  const body = raw.read(length) as Buffer | null;
  if (body === null) return undefined; // not reached: the length was checked as in the buffer
  const form = parse(body.toString()) as Record<string, string | string[]>;
  if (Object.hasOwn(form, '__proto__')) {
    raw.unshift(body); // synchronously, before the stream could end: Fastify reads it all again
    return undefined;
  }
  // Its deadline, if the edge armed one before the body came, waits for an 'end' that a read of
  // the buffer does not bring: the body is here, and a long poll must not time out as a slow body.
  releaseBodyDeadline(request);
  return form;
}

/**
 * The pending-scan status URL ThreadFix Pro puts in an upload's answer (`links[0].href`): absolute,
 * with the context path and version segment the upload request used, so a script can follow it as
 * it is. Host and scheme are the request's own (its Host header, as the client sent it).
 */
import { FastifyRequest } from 'fastify';

/** A Host header value that is a host name or address and an optional port, nothing else. */
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function pendingScanHref(
  request: FastifyRequest,
  applicationId: number,
  uploadId: number,
): string {
  const path = (request.originalUrl ?? request.url).split('?')[0];
  const base = /^(.*\/)applications\/[^/]+\/upload\/?$/.exec(path)?.[1] ?? '/rest/latest/';
  const host =
    typeof request.headers.host === 'string' && HOST.test(request.headers.host)
      ? request.headers.host
      : 'localhost';
  return `${request.protocol}://${host}${base}applications/${applicationId}/pendingScan/${uploadId}/status`;
}

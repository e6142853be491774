/**
 * ThreadFix's URL space on one set of routes: the context path is optional (`/threadfix/rest/...`
 * and `/rest/...`), and `/rest/{version}/...` is rewritten to the unversioned `/rest/...` that the
 * controllers serve. Versions: `latest`, `vX.Y` or `X.Y` from 2.4 on (the versioned API began with
 * ThreadFix 2.4); any other version-shaped segment leads to the 404 envelope.
 */
const VERSION = /^v?(\d+)\.(\d+)(?:\.\d+)*$/i;
export const UNSUPPORTED_VERSION_PATH = '/rest/unsupported-api-version';
/**
 * Where a path with broken percent-encoding or an overlong segment goes: no route serves it, so it
 * gets the 404 envelope. The router would otherwise answer Fastify's own JSON, outside the envelope
 * (FST_ERR_BAD_URL 400; FST_ERR_MAX_PARAM_LENGTH 414, which also echoes the path).
 */
export const MALFORMED_PATH = '/rest/malformed-path';
/** Fastify's default maxParamLength; no route has a longer static segment, no id is that long. */
const MAX_SEGMENT_LENGTH = 100;

function isSupportedVersion(segment: string): boolean | undefined {
  if (segment.toLowerCase() === 'latest') return true;
  const match = VERSION.exec(segment);
  if (!match) return undefined; // not a version: an unversioned path such as /rest/tasks/...
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 4);
}

/** decodeURIComponent that answers undefined for malformed percent-encoding instead of throwing. */
function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function rewriteRestUrl(url: string, contextPath: string): string {
  const queryAt = url.indexOf('?');
  let path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  if (contextPath && (path === contextPath || path.startsWith(`${contextPath}/`))) {
    path = path.slice(contextPath.length) || '/';
  }
  if (
    safeDecode(path) === undefined ||
    path.split('/').some((segment) => segment.length > MAX_SEGMENT_LENGTH)
  )
    return MALFORMED_PATH + query;
  const match = /^\/rest\/([^/]+)(\/.*)?$/.exec(path);
  if (match) {
    // Runs before routing, outside every error handler: a throw here would kill the process.
    const segment = safeDecode(match[1]);
    const supported = segment === undefined ? false : isSupportedVersion(segment);
    if (supported === true) path = `/rest${match[2] ?? ''}`;
    else if (supported === false) path = UNSUPPORTED_VERSION_PATH;
  }
  return path + query;
}

/**
 * ThreadFix's URL space on one set of routes: the context path is optional (`/threadfix/rest/...`
 * and `/rest/...`), and `/rest/{version}/...` is rewritten to the unversioned `/rest/...` that the
 * controllers serve. Versions: `latest`, `vX.Y` or `X.Y` from 2.4 on (the versioned API began with
 * ThreadFix 2.4); any other version-shaped segment leads to the 404 envelope.
 */
const VERSION = /^v?(\d+)\.(\d+)(?:\.\d+)*$/i;
export const UNSUPPORTED_VERSION_PATH = '/rest/unsupported-api-version';

function isSupportedVersion(segment: string): boolean | undefined {
  if (segment.toLowerCase() === 'latest') return true;
  const match = VERSION.exec(segment);
  if (!match) return undefined; // not a version: an unversioned path such as /rest/tasks/...
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 4);
}

export function rewriteRestUrl(url: string, contextPath: string): string {
  const queryAt = url.indexOf('?');
  let path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  if (contextPath && (path === contextPath || path.startsWith(`${contextPath}/`))) {
    path = path.slice(contextPath.length) || '/';
  }
  const match = /^\/rest\/([^/]+)(\/.*)?$/.exec(path);
  if (match) {
    const supported = isSupportedVersion(decodeURIComponent(match[1]));
    if (supported === true) path = `/rest${match[2] ?? ''}`;
    else if (supported === false) path = UNSUPPORTED_VERSION_PATH;
  }
  return path + query;
}

import { createHash } from 'node:crypto';

/**
 * The dedupe key of a finding: hex SHA-256 of `scanner|ruleId|location|parameter`, where location is
 * the URL's path without query or fragment (scheme and host dropped, so the same issue on staging and
 * production, or over http and https, is one finding), or the raw URL when no path could be derived,
 * and a missing parameter is the empty string. Stable across scans: nothing time- or order-dependent
 * goes in.
 */
export function findingFingerprint(
  scanner: string,
  ruleId: string,
  path: string | null,
  url: string | null,
  parameter: string | null,
): string {
  return createHash('sha256')
    .update(`${scanner}|${ruleId}|${path ?? url ?? ''}|${parameter ?? ''}`)
    .digest('hex');
}

/** True when `value` starts with a URL scheme (`http:`, `https:`...). */
export function hasScheme(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value);
}

/**
 * The path of a URL or of a path-with-query: no scheme, host, query or fragment. An absolute URL goes
 * through WHATWG parsing (so `https://h` gives `/`); anything else is cut at `?` or `#`.
 */
export function urlPath(urlOrPath: string | null): string | null {
  if (urlOrPath === null || urlOrPath === '') return null;
  if (hasScheme(urlOrPath)) {
    try {
      return new URL(urlOrPath).pathname;
    } catch {
      return null;
    }
  }
  const cut = urlOrPath.search(/[?#]/);
  return cut === -1 ? urlOrPath : urlOrPath.slice(0, cut);
}

/**
 * An absolute URL from a base (`http://host`, maybe with a path) and a path reported relative to it,
 * or null when the base is not absolute.
 */
export function joinUrl(base: string | null, path: string | null): string | null {
  if (base === null || base === '' || !hasScheme(base)) return null;
  if (path === null || path === '') return base;
  try {
    return new URL(path, base).href;
  } catch {
    return null;
  }
}

/**
 * URLs as logs may show them. ThreadFix clients send their keys as query parameters (`apiKey`,
 * `scanAgentSecureKey`, `secureTaskKey`), so every parameter whose name looks like a credential
 * has its value replaced; the rest of the URL stays as the client sent it.
 */
export const REDACTED = '[REDACTED]';

/** Names whose values are never logged (case-insensitive, anywhere in the name). */
// `username`: ThreadFix's updateApplication sends repositoryUserName beside the password.
const SECRET_NAME = /key|secret|token|passw|signature|credential|auth|username/i;
/** A path can be as long as the header limit allows; a log line need not be. */
const MAX_LOGGED_URL = 2048;

function decodedName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  let redacted = url;
  if (queryAt !== -1) {
    const query = url
      .slice(queryAt + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        if (equals === -1) return pair;
        const rawName = pair.slice(0, equals);
        const name = decodedName(rawName);
        // A name that does not decode could decode differently elsewhere: treat it as a secret.
        return name === undefined || SECRET_NAME.test(name) ? `${rawName}=${REDACTED}` : pair;
      })
      .join('&');
    redacted = `${url.slice(0, queryAt)}?${query}`;
  }
  return redacted.length > MAX_LOGGED_URL ? `${redacted.slice(0, MAX_LOGGED_URL)}…` : redacted;
}

/** How the S3 storage reads the SDK's errors, and its own. */
import { S3ServiceException } from '@aws-sdk/client-s3';

export function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404)
  );
}

/** Why an S3 call failed, without anything from the request (no credentials reach messages). */
export function describe(err: unknown): string {
  if (err instanceof S3ServiceException)
    return `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})${err.message && err.message !== err.name ? `: ${err.message}` : ''}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export class S3IntegrityError extends Error {
  override readonly name = 'S3IntegrityError';
}

import type { ThreadFixEnvelope } from '@scanqueue/wire';

/**
 * ThreadFix's RestResponse envelope, as @scanqueue/wire gives it to agents. `responseCode` is always
 * -1 over HTTP, as in ThreadFix.
 */
export interface RestResponse<T> extends ThreadFixEnvelope<T> {
  responseCode: -1;
}

/** The envelope's content type, as every answer in it carries. */
export const REST_CONTENT_TYPE = 'application/json; charset=utf-8';

export function restSuccess<T>(object: T): RestResponse<T> {
  return { message: '', success: true, responseCode: -1, object };
}

export function restFailure(message: string): RestResponse<never> {
  return { message, success: false, responseCode: -1, object: null };
}

/** ThreadFix's RestResponse envelope. `responseCode` is always -1 on the server, as in ThreadFix. */
export interface RestResponse<T> {
  message: string;
  success: boolean;
  responseCode: -1;
  object: T | null;
}

export function restSuccess<T>(object: T): RestResponse<T> {
  return { message: '', success: true, responseCode: -1, object };
}

export function restFailure(message: string): RestResponse<never> {
  return { message, success: false, responseCode: -1, object: null };
}

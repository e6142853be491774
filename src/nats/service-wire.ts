/**
 * The framework-free half of the NATS patterns: the reply envelope, the key a request presents,
 * and what a payload must be before it is validated against its class.
 */
import { BadRestParameter } from '../rest/rest-error';

/**
 * The REST envelope `{message, success, responseCode, object}` for NATS replies. NATS has no status
 * line, so `responseCode` carries the HTTP status the REST route would have answered.
 */
export interface ServiceEnvelope<T> {
  message: string;
  success: boolean;
  responseCode: number;
  object: T | null;
  /** Field → message, beside a validation failure's envelope (as REST's FormValidationFilter). */
  errorMap?: Readonly<Record<string, string>>;
}

export function serviceSuccess<T>(object: T | undefined): ServiceEnvelope<T> {
  return { message: '', success: true, responseCode: 200, object: object ?? null };
}

export function serviceFailure(status: number, message: string): ServiceEnvelope<never> {
  return { message, success: false, responseCode: status, object: null };
}

/** A payload that was not JSON; the payload pipe answers it with a 400 envelope. */
export class UnreadablePayload {}

/**
 * The API key of a request: the `Authorization: APIKEY <key>` header when one is sent (a malformed
 * one presents no key), else the payload's `apiKey` field (clients without headers).
 */
export function presentedKey(authorization: string | undefined, data: unknown): string | undefined {
  const header = (authorization ?? '').trim();
  if (header !== '') return /^APIKEY\s+(\S+)\s*$/i.exec(header)?.[1];
  if (data !== null && typeof data === 'object') {
    const value = (data as Record<string, unknown>).apiKey;
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** A payload as the patterns take it: a JSON object (400 otherwise, with the reason). */
export function payloadObject(value: unknown): Record<string, unknown> {
  if (value instanceof UnreadablePayload)
    throw new BadRestParameter('The message is not valid JSON.');
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BadRestParameter('The message must be a JSON object.');
  return value as Record<string, unknown>;
}

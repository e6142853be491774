/** Retry timing, signatures and redaction shared by the relays (free of Nest, for unit specs). */
import { createHmac } from 'node:crypto';

/** Credentials in a NATS URL never reach a log line or last_error. */
export const redactUrls = (text: string): string => text.replace(/\/\/[^/@\s]+@/g, '//***@');

export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  // Exponential with "equal jitter": at least half the step, so retries spread but never bunch at 0.
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, as GitHub signs its webhooks. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

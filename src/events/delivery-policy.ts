/** Signatures and redaction shared by the relays (free of Nest, for unit specs). */
import { createHmac } from 'node:crypto';

/** Credentials in a NATS URL never reach a log line or last_error. */
export const redactUrls = (text: string): string => text.replace(/\/\/[^/@\s]+@/g, '//***@');

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, as GitHub signs its webhooks. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

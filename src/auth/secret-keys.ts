/**
 * API keys, agent keys and task keys: 256 bits from the CSPRNG, URL-safe base64 (43 chars, the
 * length of ThreadFix's keys). Stored only as SHA-256; high-entropy keys need no slow hash.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateSecretKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Every request hashes one or two keys: the one-shot hash costs a third of a Hash object's. */
export function hashSecretKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** Constant-time check of a presented key against a stored hash. */
export function secretKeyMatches(presented: string, storedHash: string | null): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashSecretKey(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

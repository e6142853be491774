import { createHash } from 'node:crypto';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from './secret-keys';

describe('secret keys', () => {
  it('are stored as their SHA-256 in hex: hashes in existing databases keep matching', () => {
    // FIPS 180-2's test vector.
    expect(hashSecretKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    for (const key of [generateSecretKey(), 'clé-ü—✓', '']) {
      expect(hashSecretKey(key)).toBe(createHash('sha256').update(key, 'utf8').digest('hex'));
    }
  });

  it('match only their own hash', () => {
    const key = generateSecretKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secretKeyMatches(key, hashSecretKey(key))).toBe(true);
    expect(secretKeyMatches(generateSecretKey(), hashSecretKey(key))).toBe(false);
    expect(secretKeyMatches(key, null)).toBe(false);
    expect(secretKeyMatches(key, 'abc')).toBe(false); // a malformed stored hash
  });
});

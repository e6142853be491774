/**
 * The syntax of TARGET_URL_ALLOW and TARGET_URL_DENY entries (checked at boot by AppConfig, compiled
 * by src/tasks/target-url-policy.ts): an IP address, a CIDR range, a host name, `*.domain` (any of
 * its subdomains) or `*` (every name).
 */
import { isIP } from 'node:net';

export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** An address (a /32 or /128) or a CIDR range; undefined when the rule is neither. */
export function parseAddressRange(rule: string): AddressRange | undefined {
  const [address, prefixText, extra] = rule.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix =
    prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const NAME_RULE = new RegExp(`^(?:\\*|(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*\\.?)$`, 'i');

export function isHostRule(rule: string): boolean {
  return parseAddressRange(rule) !== undefined || NAME_RULE.test(rule);
}

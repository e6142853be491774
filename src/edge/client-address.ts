import { isIPv4, isIPv6 } from 'node:net';

/**
 * The rate-limit bucket of a client address. An IPv4 address is itself (also when it arrives
 * IPv4-mapped, `::ffff:192.0.2.1`); an IPv6 address counts by its /64, the smallest block a site
 * is given, so one host cannot spread its requests over 2^64 addresses of its own.
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip; // not an address (a unix socket peer): one bucket of its own
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, lower-case and without leading zeros. */
function expandIPv6(ip: string): string[] {
  const address = ip.split('%')[0]; // no zone index
  const [head, tail = ''] = address.split('::');
  const groupsOf = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [group];
          // A trailing dotted quad is the last two groups.
          const [a, b, c, d] = group.split('.').map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const headGroups = groupsOf(head);
  const tailGroups = address.includes('::') ? groupsOf(tail) : [];
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) =>
    (Number.parseInt(group, 16) || 0).toString(16),
  );
}

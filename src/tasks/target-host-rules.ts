/**
 * Which hosts a scan may target (issue 12, finding 2): an agent scans what the task names, from
 * inside the fleet's network, so a target of the agent's own host or its cloud's metadata service
 * turns a queued scan into a request forgery. Refused by default: loopback (127.0.0.0/8, ::1,
 * `localhost` and `*.localhost`), link-local (169.254.0.0/16, fe80::/10, where cloud metadata
 * services answer), the unspecified addresses (0.0.0.0/8, ::) and the well-known metadata
 * addresses and names. Private ranges stay allowed: internal applications are what fleets scan.
 * Operators add rules with TARGET_URL_DENY and exempt hosts or ranges with TARGET_URL_ALLOW.
 *
 * The host is read as WHATWG URL parsing normalizes it (decimal, octal and hex IPv4 spellings,
 * percent-encoding, full-width digits, IPv4-mapped IPv6 all become one address), and an IPv4
 * address embedded in IPv6 (mapped, compatible, NAT64) is checked as itself too. Names are not
 * resolved: the agent resolves them, on its own network, at scan time (docs/security.md).
 */
import { BlockList, isIP } from 'node:net';
import { parseAddressRange } from '../config/host-rules';

interface CompiledRules {
  addresses: BlockList;
  /** Exact names, lower case, without a trailing dot. */
  names: Set<string>;
  /** `*.example.com` as `.example.com`: any name ending with it. */
  suffixes: string[];
  /** `*`: every name (not address literals). */
  everyName: boolean;
}

/** The built-in refusals, each with the reason given to the caller. */
const BUILT_IN: { reason: string; ranges: string[]; names: string[] }[] = [
  {
    reason: 'a loopback address (the agent host itself)',
    ranges: ['127.0.0.0/8', '::1/128'],
    names: ['localhost', '*.localhost'],
  },
  {
    reason: 'a link-local address (where cloud metadata services answer)',
    ranges: ['169.254.0.0/16', 'fe80::/10'],
    names: [],
  },
  {
    reason: 'an unspecified address (it reaches the agent host itself)',
    ranges: ['0.0.0.0/8', '::/128'],
    names: [],
  },
  {
    // AWS's IPv6 instance metadata, Alibaba Cloud's metadata, GCP's metadata name.
    reason: 'a cloud metadata service',
    ranges: ['fd00:ec2::254/128', '100.100.100.200/32'],
    names: ['metadata.google.internal'],
  },
];

function compile(rules: readonly string[]): CompiledRules {
  const compiled: CompiledRules = {
    addresses: new BlockList(),
    names: new Set(),
    suffixes: [],
    everyName: false,
  };
  for (const rule of rules.map((r) => r.trim().toLowerCase()).filter((r) => r !== '')) {
    const range = parseAddressRange(rule);
    if (range) compiled.addresses.addSubnet(range.address, range.prefix, range.family);
    else if (rule === '*') compiled.everyName = true;
    else if (rule.startsWith('*.')) compiled.suffixes.push(rule.slice(1));
    else compiled.names.add(rule.replace(/\.$/, ''));
  }
  return compiled;
}

function matchesName(rules: CompiledRules, name: string): boolean {
  return (
    rules.everyName ||
    rules.names.has(name) ||
    rules.suffixes.some((suffix) => name.endsWith(suffix))
  );
}

function matchesAddress(rules: CompiledRules, addresses: readonly string[]): boolean {
  return addresses.some((address) =>
    rules.addresses.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6'),
  );
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const left = parse(head);
  const right = parse(tail);
  if (tail === undefined) return left;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The IPv4 address an IPv6 address carries, if any: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) all reach that IPv4 host.
 */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const compatible = zeros(0, 6) && (g[6] !== 0 || g[7] > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !compatible && !nat64) return undefined;
  return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
}

export interface TargetRules {
  allow: readonly string[];
  deny: readonly string[];
}

/** The policy itself, without Nest: compiled once from the allow and deny lists. */
export class TargetHostRules {
  private readonly allow: CompiledRules;
  private readonly deny: CompiledRules;
  private readonly builtIn: { reason: string; rules: CompiledRules }[];

  constructor(rules: TargetRules) {
    this.allow = compile(rules.allow);
    this.deny = compile(rules.deny);
    this.builtIn = BUILT_IN.map(({ reason, ranges, names }) => ({
      reason,
      rules: compile([...ranges, ...names]),
    }));
  }

  /** Why the URL's host is refused (a phrase), or undefined when it may be scanned. */
  refusal(url: string): { host: string; reason: string } | undefined {
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      return { host: '(none)', reason: 'not a URL' };
    }
    host = host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    const version = isIP(host);
    if (version === 0) {
      if (matchesName(this.allow, host)) return undefined;
      if (matchesName(this.deny, host)) return { host, reason: 'denied by TARGET_URL_DENY' };
      const builtIn = this.builtIn.find(({ rules }) => matchesName(rules, host));
      return builtIn ? { host, reason: builtIn.reason } : undefined;
    }
    const embedded = version === 6 ? embeddedIpv4(host) : undefined;
    const addresses = embedded ? [host, embedded] : [host];
    if (matchesAddress(this.allow, addresses)) return undefined;
    if (matchesAddress(this.deny, addresses)) return { host, reason: 'denied by TARGET_URL_DENY' };
    const builtIn = this.builtIn.find(({ rules }) => matchesAddress(rules, addresses));
    return builtIn ? { host, reason: builtIn.reason } : undefined;
  }
}

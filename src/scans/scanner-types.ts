import type { ScanAgentScanner } from '@scanqueue/wire';

/** A scanner whose result files scan agents upload. */
export interface ScannerType {
  /** Stable id used in tasks and configs. */
  shortName: string;
  /** Name shown to users (ThreadFix's current name). */
  displayName: string;
  /** Older ThreadFix names and database names that clients may still send. */
  aliases: readonly string[];
}

/**
 * The six scan-agent scanners, sorted by displayName (the order lists show them in). Their names
 * are @scanqueue/wire's, which the reference agent's own list is held to as well.
 */
export const SCAN_AGENT_SCANNERS: readonly ScannerType[] = Object.freeze([
  { shortName: 'acunetix', displayName: 'Acunetix WVS', aliases: [] },
  { shortName: 'spider', displayName: 'AppSpider', aliases: ['NTO Spider', 'appspider'] },
  { shortName: 'burp', displayName: 'Burp Suite Pro', aliases: ['Burp Suite'] },
  {
    shortName: 'appscan',
    displayName: 'IBM Security AppScan Standard',
    aliases: ['IBM Rational AppScan'],
  },
  { shortName: 'zap', displayName: 'OWASP Zed Attack Proxy', aliases: ['ZAP', 'OWASP ZAP'] },
  { shortName: 'webinspect', displayName: 'WebInspect', aliases: [] },
] as const satisfies readonly ScanAgentScanner[]);

// Lower-cased lookup built once: every name a client may send maps to its scanner.
const BY_NAME = new Map<string, ScannerType>();
for (const scanner of SCAN_AGENT_SCANNERS) {
  for (const name of [scanner.shortName, scanner.displayName, ...scanner.aliases]) {
    BY_NAME.set(name.toLowerCase(), scanner);
  }
}

/** The scanner named by its shortName, displayName or an alias (trimmed, case-insensitive). */
export function resolveScanner(name: string): ScannerType | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}

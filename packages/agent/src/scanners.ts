/**
 * The scanner names the agent accepts as keys of its `scanners` setting: a scanner's short name,
 * ThreadFix's display name (what requestTask's `scanners` and a task's `taskType` carry) or an
 * older name, case-insensitive. The agent's own copy of the list, held to @scanqueue/wire's by
 * the compiler (the server's is too), so it needs nothing of the server's at run time.
 */
import type { ScanAgentScanners, ScannerShortName } from '@scanqueue/wire';

const SCANNERS = {
  acunetix: { displayName: 'Acunetix WVS', aliases: [] },
  spider: { displayName: 'AppSpider', aliases: ['NTO Spider', 'appspider'] },
  burp: { displayName: 'Burp Suite Pro', aliases: ['Burp Suite'] },
  appscan: { displayName: 'IBM Security AppScan Standard', aliases: ['IBM Rational AppScan'] },
  zap: { displayName: 'OWASP Zed Attack Proxy', aliases: ['ZAP', 'OWASP ZAP'] },
  webinspect: { displayName: 'WebInspect', aliases: [] },
} as const satisfies ScanAgentScanners;

export interface Scanner {
  shortName: ScannerShortName;
  displayName: string;
}

export const SCANNER_SHORT_NAMES = Object.keys(SCANNERS) as ScannerShortName[];

// Lower-cased lookup built once: every name a config may use maps to its scanner.
const BY_NAME = new Map<string, Scanner>();
for (const shortName of SCANNER_SHORT_NAMES) {
  const { displayName, aliases } = SCANNERS[shortName];
  for (const name of [shortName, displayName, ...aliases])
    BY_NAME.set(name.toLowerCase(), { shortName, displayName });
}

/** The scanner named by its short name, display name or an older name (trimmed, case-insensitive). */
export function resolveScanner(name: string): Scanner | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}

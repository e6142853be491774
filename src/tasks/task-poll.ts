/** What one requestTask asks for, read once from its parameters for each of its looks for a task. */
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { hashSecretKey } from '../auth/secret-keys';
import { BadRestParameter } from '../rest/rest-error';
import { MISSING_AGENT_KEY } from '../scan-agents/scan-agents.service';
import { resolveScanner, ScannerType } from '../scans/scanner-types';
import { EVERY_SCOPE } from '../wakeups/wakeups';
import { RequestTaskParams } from './task-params.dto';

export interface Poll {
  caller: AuthenticatedCaller;
  params: RequestTaskParams;
  /** The scanners asked for that this service knows, each once. */
  scanners: readonly ScannerType[];
  /** The scanners' display names (what tasks and wake-ups name them by). */
  names: readonly string[];
  /** Their short names (what an agent's record lists). */
  shortNames: readonly string[];
  /** The key's teams, as the "nothing queued" marks tell scopes apart. */
  scope: string;
  agentKeyHash: string;
}

type AskedScanners = Pick<Poll, 'scanners' | 'names' | 'shortNames'>;

/**
 * Each `scanners` parameter's scanners, worked out once: an agent sends the same list on every
 * poll. Bounded, as the text is the client's (at most 2,000 characters, the parameter's limit).
 */
const askedScanners = new Map<string, AskedScanners>();
const MAX_SCANNER_LISTS = 1000;

function scannersOf(param: string): AskedScanners {
  let asked = askedScanners.get(param);
  if (asked === undefined) {
    const scanners = [...new Set(param.split(',').map((name) => resolveScanner(name)))].filter(
      (scanner): scanner is ScannerType => scanner !== undefined,
    );
    asked = {
      scanners,
      names: scanners.map((scanner) => scanner.displayName),
      shortNames: scanners.map((scanner) => scanner.shortName),
    };
    if (askedScanners.size >= MAX_SCANNER_LISTS) askedScanners.clear(); // refills on demand
    askedScanners.set(param, asked);
  }
  return asked;
}

export function pollOf(caller: AuthenticatedCaller, params: RequestTaskParams): Poll {
  if (!params.scanAgentSecureKey) throw new BadRestParameter(MISSING_AGENT_KEY);
  return {
    caller,
    params,
    ...scannersOf(params.scanners),
    scope: caller.teamIds === null ? EVERY_SCOPE : caller.teamIds.join(','),
    agentKeyHash: hashSecretKey(params.scanAgentSecureKey),
  };
}

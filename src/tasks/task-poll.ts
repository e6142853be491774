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
  scanners: ScannerType[];
  /** The scanners' display names (what tasks and wake-ups name them by). */
  names: string[];
  /** The key's teams, as the "nothing queued" marks tell scopes apart. */
  scope: string;
  agentKeyHash: string;
}

export function pollOf(caller: AuthenticatedCaller, params: RequestTaskParams): Poll {
  if (!params.scanAgentSecureKey) throw new BadRestParameter(MISSING_AGENT_KEY);
  const scanners = [
    ...new Set(params.scanners.split(',').map((name) => resolveScanner(name))),
  ].filter((scanner): scanner is ScannerType => scanner !== undefined);
  return {
    caller,
    params,
    scanners,
    names: scanners.map((scanner) => scanner.displayName),
    scope: caller.teamIds === null ? EVERY_SCOPE : caller.teamIds.join(','),
    agentKeyHash: hashSecretKey(params.scanAgentSecureKey),
  };
}

/** Texts and bounds the task use cases share: ThreadFix's wording where it had one. */
import { BadRestParameter } from '../rest/rest-error';
import { SCAN_AGENT_SCANNERS } from '../scans/scanner-types';

export const STATUS_UPDATED = 'Successfully updated ScanQueueTask';

export const FILE_MISSING = "Required parameter 'file' is missing.";

/**
 * Status rows a task's JSON shows (the latest; GET tasks/{id}/statuses pages through the rest): a
 * task may hold STATUS_MESSAGES_PER_TASK of them, and no answer loads them all.
 */
export const STATUSES_SHOWN = 100;
export const SHOWN = { statuses: STATUSES_SHOWN };

/** Status texts keep ThreadFix's wording, with an ISO-8601 time instead of its broken pattern. */
export const at = (): string => new Date().toISOString();

export function badScannerType(name: string, suffix = ''): BadRestParameter {
  const known = SCAN_AGENT_SCANNERS.map((s) => `${s.shortName} (${s.displayName})`).join(', ');
  return new BadRestParameter(
    `Bad scanner type of: ${name} provided.${suffix} Scan agents run: ${known}.`,
  );
}

/**
 * A failure reason longer than `max` is stored cut, not refused: refusing would leave the task
 * ASSIGNED until it times out, and a task fails once only.
 */
export function failureReason(reason: string, max: number): string {
  if (reason.length <= max) return reason;
  // Not inside a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(reason[max - 1]) ? max - 1 : max;
  return `${reason.slice(0, end)} [… ${reason.length - end} more characters cut]`;
}

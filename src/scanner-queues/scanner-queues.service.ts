/**
 * Scanner queues (fleet control): each scanner's QUEUED tasks can be paused as a whole — no task of
 * it is handed out, queueScan still queues — and resumed. The pause state and its SQL are
 * scan-agents' (scanner-queues.repository.ts, beside the claim's agent checks); this module names
 * scanners as clients do (any alias, scans/scanner-types.ts).
 */
import { Injectable } from '@nestjs/common';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { Forbidden, NotFound } from '../rest/rest-error';
import { FleetMetrics } from '../scan-agents/fleet-metrics';
import { ScannerQueueRow, ScannerQueuesRepository } from '../scan-agents/scanner-queues.repository';
import { resolveScanner, SCAN_AGENT_SCANNERS, ScannerType } from '../scans/scanner-types';
import { WakeupsService } from '../wakeups/wakeups.service';

export const GLOBAL_QUEUE_SCOPE =
  'Pausing or resuming a scanner queue affects every team: it needs an API key not limited to teams.';

export interface ScannerQueueView {
  scanner: ScannerType;
  row: ScannerQueueRow;
}

export interface ScannerQueuePauseResult {
  message: string;
  changed: boolean;
  queue: ScannerQueueView;
}

@Injectable()
export class ScannerQueuesService {
  constructor(
    private readonly repository: ScannerQueuesRepository,
    private readonly metrics: FleetMetrics,
    private readonly wakeups: WakeupsService,
  ) {}

  /** Every scan-agent scanner's queue, in the scanners' order. */
  async list(scope: TeamScope): Promise<ScannerQueueView[]> {
    const rows = await this.repository.list(
      SCAN_AGENT_SCANNERS.map((scanner) => scanner.displayName),
      scope,
    );
    return rows.map((row, index) => ({ scanner: SCAN_AGENT_SCANNERS[index], row }));
  }

  /**
   * Pauses (`paused`) or resumes the queue of the scanner `name` names. Only a key not limited to
   * teams may: the queue is every team's. Pausing a paused queue changes nothing and says so.
   */
  async setPaused(
    caller: AuthenticatedCaller,
    name: string,
    paused: boolean,
  ): Promise<ScannerQueuePauseResult> {
    if (caller.teamIds !== null) throw new Forbidden(GLOBAL_QUEUE_SCOPE);
    const scanner = resolveScanner(name);
    if (!scanner)
      throw new NotFound(
        `No scanner queue of that name; scanners: ${SCAN_AGENT_SCANNERS.map((s) => s.shortName).join(', ')}.`,
      );
    const { changed } = await this.repository.setPaused(scanner, paused, caller.apiKeyId);
    if (changed) this.metrics.actionTaken('queue', paused);
    // Its tasks are claimable again: this instance's "known empty" mark goes now, not when the
    // NOTIFY comes back, so a poll sent just after the answer is not told "No task found.".
    if (changed && !paused) this.wakeups.forget([scanner.displayName]);
    const [row] = await this.repository.list([scanner.displayName], caller);
    const queue = `Queue of ${scanner.displayName}`;
    return {
      message: changed
        ? `${queue} ${paused ? 'paused' : 'resumed'}.`
        : `${queue} was already ${paused ? 'paused' : 'open'}.`,
      changed,
      queue: { scanner, row },
    };
  }
}

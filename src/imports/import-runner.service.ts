/**
 * Runs scan imports outside the request that stored the scan. Every instance runs it: the claim
 * (SKIP LOCKED, one unfinished import per application at the head of its queue) splits the work,
 * and a lease renewed by a heartbeat hands a dead instance's import to another one. A run parses
 * the stored report as a stream into batched INSERTs and merges it, all in ONE transaction: a
 * crash or a malformed report leaves no findings behind, and a merge is all or nothing.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { NotFound } from '../rest/rest-error';
import { failWhenIdle } from '../scans/upload-watchdog';
import { recordUploadPhase } from '../scans/scan-upload-history';
import { ScanStorage } from '../storage/scan-storage';
import { appendCompletedTaskNote } from '../tasks/task-transitions';
import { parseScanReport, ScanReportParseError, type NormalizedFinding } from '../scans/formats';
import {
  ClaimedImport,
  claimNextImport,
  deleteFindings,
  distinctFingerprints,
  failImport,
  finishImport,
  insertFindings,
  MergeCounts,
  lockApplicationMerges,
  mergeScanFindings,
  previousIdenticalScan,
  releaseImport,
  releaseInstanceImports,
  renewLease,
} from './scan-imports.repository';

/** Findings per INSERT: few round trips, a bounded batch in memory (a few hundred KB at most). */
export const FINDINGS_BATCH = 500;
/** Runs interrupted this often (crash, lost lease, shutdown) are given up as failed. */
export const MAX_ATTEMPTS = 5;
const MAX_ERROR_CHARS = 1000;

/** The run is no longer this instance's (its lease lapsed and another took it), or we stop. */
class RunAborted extends Error {}

export function importSummary(findings: number, counts: MergeCounts): string {
  return (
    `Imported ${findings} finding${findings === 1 ? '' : 's'}: ${counts.newCount} new, ` +
    `${counts.stillPresentCount} still present, ${counts.reopenedCount} reopened, ${counts.fixedCount} fixed`
  );
}

@Injectable()
export class ImportRunnerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ImportRunnerService.name);
  private stopping = false;
  private readonly workers: Promise<void>[] = [];
  private readonly inFlight = new Set<(reason: Error) => void>();
  private wakeSleepers = new Set<() => void>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.IMPORT_POLL_INTERVAL_SECONDS === 0) return;
    const released = await this.dataSource.transaction((tx) =>
      releaseInstanceImports(tx, this.config.instanceId),
    );
    if (released > 0) this.logger.warn(`Resuming ${released} import(s) interrupted by a restart`);
    for (let i = 0; i < this.config.IMPORT_CONCURRENCY; i++) this.workers.push(this.work());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakeSleepers) wake();
    // A long parse is not waited for: it rolls back and is released for the next instance.
    for (const abort of this.inFlight) abort(new RunAborted('shutting down'));
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      let ran = false;
      try {
        ran = await this.runNext();
      } catch (error) {
        // The database is unavailable, say: the import keeps its lease and is retried after it.
        this.logger.error(`Import runner: ${String(error)}`);
      }
      if (!ran) await this.sleep(this.config.IMPORT_POLL_INTERVAL_SECONDS * 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleepers.add(done);
    });
  }

  /** Claims and runs one import; false when none was runnable. */
  async runNext(): Promise<boolean> {
    const run = await this.dataSource.transaction(async (tx) => {
      const claimed = await claimNextImport(
        tx,
        this.config.instanceId,
        this.config.IMPORT_LEASE_SECONDS,
      );
      // A direct upload's history shows each phase of its import (a task's scan: no-op).
      if (claimed)
        await recordUploadPhase(
          tx,
          claimed.scanId,
          'parsing',
          `Import started (attempt ${claimed.attempt})`,
        );
      return claimed;
    });
    if (!run) return false;
    if (run.attempt > MAX_ATTEMPTS) {
      await this.fail(run, `Gave up after ${MAX_ATTEMPTS} interrupted attempts.`);
      return true;
    }
    await this.execute(run);
    return true;
  }

  private async execute(run: ClaimedImport): Promise<void> {
    let input: Readable | undefined;
    let abortReason: Error | undefined;
    const abortRun = (reason: Error) => {
      abortReason ??= reason;
      input?.destroy(reason);
    };
    this.inFlight.add(abortRun);
    const heartbeat = setInterval(
      () => {
        renewLease(this.dataSource.manager, run).then(
          (kept) => kept || abortRun(new RunAborted('lease lost')),
          (error: unknown) =>
            this.logger.warn(`Import ${run.id}: heartbeat failed: ${String(error)}`),
        );
      },
      (this.config.IMPORT_LEASE_SECONDS * 1000) / 3,
    );
    try {
      const summary = await this.dataSource.transaction(async (tx) => {
        await deleteFindings(tx, run.scanId);
        input = await this.storage.openRead(run.storageKey);
        // A read that stalls (storage hung) must not hold the application's imports for ever.
        failWhenIdle(input, this.config.IMPORT_LEASE_SECONDS * 1000);
        if (abortReason) throw abortReason;
        let batch: NormalizedFinding[] = [];
        let findingsCount = 0;
        // An abort destroys the input, which ends the parse with an error (never mid-INSERT).
        await parseScanReport(run.scanner, input, async (finding: NormalizedFinding) => {
          batch.push(finding);
          findingsCount++;
          if (batch.length >= FINDINGS_BATCH) {
            const full = batch;
            batch = [];
            await insertFindings(tx, run.scanId, full);
          }
        });
        await insertFindings(tx, run.scanId, batch);
        batch = [];
        if (abortReason) throw abortReason;
        const merging = await this.dataSource.transaction(async (phaseTx) => {
          if (!(await renewLease(phaseTx, run, 'merging'))) return false;
          await recordUploadPhase(phaseTx, run.scanId, 'merging', 'Merging findings');
          return true;
        });
        if (!merging) throw new RunAborted('lease lost');

        await lockApplicationMerges(tx, run.applicationId);
        const duplicateOfScanId = await previousIdenticalScan(tx, run);
        const counts: MergeCounts =
          duplicateOfScanId === null
            ? await mergeScanFindings(tx, run)
            : {
                newCount: 0,
                stillPresentCount: await distinctFingerprints(tx, run.scanId),
                reopenedCount: 0,
                fixedCount: 0,
              };
        clearInterval(heartbeat);
        if (abortReason) throw abortReason;
        if (!(await finishImport(tx, run, { ...counts, findingsCount, duplicateOfScanId })))
          throw new RunAborted('lease lost');
        const summary =
          importSummary(findingsCount, counts) +
          (duplicateOfScanId === null
            ? ''
            : ` (identical to scan ${duplicateOfScanId}; vulnerabilities unchanged)`);
        await this.noteOutcome(tx, run, 'done', summary);
        return summary;
      });
      this.logger.log(`Import ${run.id} of scan ${run.scanId}: ${summary}`);
    } catch (error) {
      if (error instanceof RunAborted || abortReason) {
        // Rolled back; the next claim (here or elsewhere) starts it again from the file.
        this.logger.warn(
          `Import ${run.id} of scan ${run.scanId} stopped: ${abortReason?.message ?? String(error)}`,
        );
        if (this.stopping)
          await this.dataSource.transaction((tx) => releaseImport(tx, run)).catch(() => undefined);
        return;
      }
      if (!isPermanentImportError(error)) {
        // Storage or database trouble: not the report's fault. The lease lapses and the import is
        // tried again (here or on another instance) after IMPORT_LEASE_SECONDS, MAX_ATTEMPTS in all.
        this.logger.warn(
          `Import ${run.id} of scan ${run.scanId} will be retried: ${error instanceof Error ? error.message : String(error)}`,
        );
        return;
      }
      await this.fail(run, error instanceof Error ? error.message : String(error));
    } finally {
      clearInterval(heartbeat);
      input?.destroy();
      this.inFlight.delete(abortRun);
    }
  }

  /** The end of a run in its scan's history: the task's (a note), or the direct upload's. */
  private async noteOutcome(
    tx: EntityManager,
    run: ClaimedImport,
    phase: 'done' | 'failed',
    message: string,
  ): Promise<void> {
    if (run.taskId === null) await recordUploadPhase(tx, run.scanId, phase, message);
    else await appendCompletedTaskNote(tx, run.taskId, message);
  }

  /** Marks the run failed and tells the scan's history, in one transaction. */
  private async fail(run: ClaimedImport, reason: string): Promise<void> {
    const error = reason.slice(0, MAX_ERROR_CHARS) || 'Unknown error';
    await this.dataSource.transaction(async (tx) => {
      if (await failImport(tx, run, error))
        await this.noteOutcome(tx, run, 'failed', `Import failed: ${error}`);
    });
    this.logger.warn(`Import ${run.id} of scan ${run.scanId} failed: ${error}`);
  }
}

/** The report itself is bad (or gone): trying again cannot help. */
function isPermanentImportError(error: unknown): boolean {
  return (
    error instanceof ScanReportParseError ||
    error instanceof NotFound ||
    (error instanceof Error && error.message.startsWith('No scan report parser'))
  );
}

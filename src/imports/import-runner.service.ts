/**
 * Runs scan imports outside the request that stored the scan, as pg-boss jobs (SCAN_IMPORT_JOB),
 * on every instance. The job is sent in the transaction that records the scan (beside its
 * scan_imports row) and names an application: its worker runs that application's runnable imports,
 * one after another in scan order. The claim of scan_imports (SKIP LOCKED, one unfinished import per
 * application at the head of its queue, a lease renewed by a heartbeat) keeps two imports of one
 * application from ever overlapping and hands a dead instance's import to another one; a job whose
 * import is not runnable (another run holds its application) does nothing. pg-boss retries a run
 * that failed for storage or database trouble (backoff with jitter) and dead-letters it after its
 * retries; a sweep sends a job for any runnable import none is running (a lease lapsed, a job lost).
 * A run parses the stored report as a stream into batched INSERTs and merges it, all in ONE
 * transaction: a crash or a malformed report leaves no findings behind, and a merge is all or nothing.
 */
import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, EntityManager } from 'typeorm';
import { JobsService } from '../background/jobs.service';
import { PeriodicLoop } from '../background/periodic-loop';
import { AppConfig } from '../config/app-config';
import { failWhenIdle } from '../scans/upload-watchdog';
import { SCAN_IMPORT_JOB, ScanImportJob } from '../scans/scan-import-job';
import { recordUploadPhase } from '../scans/scans.repository';
import { ScanStorage } from '../storage/scan-storage';
import { StoredScanMissing } from '../storage/storage-errors';
import {
  parseScanReport,
  ScanReportParseError,
  UnknownReportFormat,
  type NormalizedFinding,
} from '../scans/formats';
import { stopwatch } from '../observability/metrics.service';
import { ImportMetrics } from './import-metrics';
import { ImportOutcomeListeners } from './import-outcome.listeners';
import { ClaimedImport, MergeCounts, ScanImportsRepository } from './scan-imports.repository';

/** Where pg-boss moves an import job whose retries ran out (created by migration 1765400000000). */
export const SCAN_IMPORT_DEAD_LETTER = `${SCAN_IMPORT_JOB}.dead`;
/** Runnable imports the sweep sends jobs for per round. */
const SWEEP_BATCH = 100;
/** A run longer than this is given up by pg-boss (the lease, not this, guards the import). */
const JOB_EXPIRY_SECONDS = 3600;

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
export class ImportRunnerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ImportRunnerService.name);
  private stopping = false;
  private readonly inFlight = new Set<(reason: Error) => void>();
  private readonly sweep: PeriodicLoop;

  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
    private readonly config: AppConfig,
    private readonly jobs: JobsService,
    private readonly imports: ScanImportsRepository,
    private readonly outcomes: ImportOutcomeListeners,
    private readonly metrics: ImportMetrics,
  ) {
    // Defined on every instance (each records scans), run where IMPORT_POLL_INTERVAL_SECONDS > 0.
    jobs.define<ScanImportJob>({
      name: SCAN_IMPORT_JOB,
      options: {
        retryLimit: MAX_ATTEMPTS,
        retryDelay: config.IMPORT_LEASE_SECONDS,
        retryBackoff: true,
        expireInSeconds: JOB_EXPIRY_SECONDS,
        deadLetter: SCAN_IMPORT_DEAD_LETTER,
      },
      beforeSend: (tx, job) => imports.queue(tx, job),
    });
    this.sweep = new PeriodicLoop(() => this.sendRunnable(), {
      name: 'Import sweep',
      logger: this.logger,
      intervalMs: config.IMPORT_POLL_INTERVAL_SECONDS * 1000,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const pollSeconds = this.config.IMPORT_POLL_INTERVAL_SECONDS;
    if (pollSeconds === 0) return;
    const released = await this.dataSource.transaction((tx) =>
      this.imports.releaseInstanceImports(tx, this.config.instanceId),
    );
    if (released > 0) this.logger.warn(`Resuming ${released} import(s) interrupted by a restart`);
    await this.jobs.work<ScanImportJob>(
      SCAN_IMPORT_JOB,
      { concurrency: this.config.IMPORT_CONCURRENCY, pollingIntervalSeconds: pollSeconds },
      (job) => this.runApplication(job.applicationId),
    );
    await this.jobs.work<ScanImportJob>(
      SCAN_IMPORT_DEAD_LETTER,
      { concurrency: 1, pollingIntervalSeconds: Math.max(pollSeconds, 10) },
      async (job) =>
        this.logger.error(
          `Import job of scan ${job.scanId} (application ${job.applicationId}) gave up after its retries; the sweep sends a new one while the import is runnable`,
        ),
    );
    this.sweep.start();
  }

  /** Before pg-boss stops: the runs end (rolled back, released for the next instance). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.sweep.stop();
    // A long parse is not waited for: it rolls back and is released for the next instance.
    for (const abort of this.inFlight) abort(new RunAborted('shutting down'));
    await this.jobs.stopWorking(SCAN_IMPORT_JOB);
  }

  /** The job: the application's runnable imports, one after another, until none is left. */
  private async runApplication(applicationId: number): Promise<void> {
    while (!this.stopping && (await this.runNext(applicationId)));
  }

  /**
   * Sends a job for every import that may run and has no live run. Throttled per application (one
   * job per lease period): an import a busy worker has not reached yet is not sent again and again.
   */
  private async sendRunnable(): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const runnable = await this.imports.runnable(
        tx,
        this.config.IMPORT_LEASE_SECONDS,
        SWEEP_BATCH,
      );
      for (const job of runnable)
        await this.jobs.send<ScanImportJob>(tx, SCAN_IMPORT_JOB, job, {
          singletonKey: `application:${job.applicationId}`,
          singletonSeconds: this.config.IMPORT_LEASE_SECONDS,
        });
    });
  }

  /** Claims and runs the application's next import; false when none was runnable. */
  async runNext(applicationId: number): Promise<boolean> {
    const run = await this.dataSource.transaction(async (tx) => {
      const claimed = await this.imports.claimNextImport(
        tx,
        this.config.instanceId,
        this.config.IMPORT_LEASE_SECONDS,
        applicationId,
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
    const elapsed = stopwatch();
    let input: Readable | undefined;
    let abortReason: Error | undefined;
    const abortRun = (reason: Error) => {
      abortReason ??= reason;
      input?.destroy(reason);
    };
    this.inFlight.add(abortRun);
    const heartbeat = setInterval(
      () => {
        this.imports.renewLease(this.dataSource.manager, run).then(
          (kept) => kept || abortRun(new RunAborted('lease lost')),
          (error: unknown) =>
            this.logger.warn(`Import ${run.id}: heartbeat failed: ${String(error)}`),
        );
      },
      (this.config.IMPORT_LEASE_SECONDS * 1000) / 3,
    );
    try {
      const summary = await this.dataSource.transaction(async (tx) => {
        await this.imports.deleteFindings(tx, run.scanId);
        input = await this.storage.openRead(run.storageKey);
        // A read that stalls (storage hung) must not hold the application's imports for ever.
        failWhenIdle(input, this.config.IMPORT_LEASE_SECONDS * 1000);
        throwIfAborted(abortReason);
        let batch: NormalizedFinding[] = [];
        let findingsCount = 0;
        // An abort destroys the input, which ends the parse with an error (never mid-INSERT).
        await parseScanReport(run.scanner, input, async (finding: NormalizedFinding) => {
          batch.push(finding);
          findingsCount++;
          if (batch.length >= FINDINGS_BATCH) {
            const full = batch;
            batch = [];
            await this.imports.insertFindings(tx, run.scanId, full);
          }
        });
        await this.imports.insertFindings(tx, run.scanId, batch);
        batch = [];
        throwIfAborted(abortReason);
        const merging = await this.dataSource.transaction(async (phaseTx) => {
          if (!(await this.imports.renewLease(phaseTx, run, 'merging'))) return false;
          await recordUploadPhase(phaseTx, run.scanId, 'merging', 'Merging findings');
          return true;
        });
        if (!merging) throw new RunAborted('lease lost');

        await this.imports.lockApplicationMerges(tx, run.applicationId);
        const duplicateOfScanId = await this.imports.previousIdenticalScan(tx, run);
        const counts: MergeCounts =
          duplicateOfScanId === null
            ? await this.imports.mergeScanFindings(tx, run)
            : {
                newCount: 0,
                stillPresentCount: await this.imports.distinctFingerprints(tx, run.scanId),
                reopenedCount: 0,
                fixedCount: 0,
              };
        clearInterval(heartbeat);
        throwIfAborted(abortReason);
        if (
          !(await this.imports.finishImport(tx, run, {
            ...counts,
            findingsCount,
            duplicateOfScanId,
          }))
        )
          throw new RunAborted('lease lost');
        const summary =
          importSummary(findingsCount, counts) +
          (duplicateOfScanId === null
            ? ''
            : ` (identical to scan ${duplicateOfScanId}; vulnerabilities unchanged)`);
        await this.noteOutcome(tx, run, 'done', summary);
        return summary;
      });
      this.metrics.runEnded('done', elapsed());
      this.logger.log(`Import ${run.id} of scan ${run.scanId}: ${summary}`);
    } catch (error) {
      if (error instanceof RunAborted || abortReason) {
        // Rolled back; the next claim (here or elsewhere) starts it again from the file.
        this.logger.warn(
          `Import ${run.id} of scan ${run.scanId} stopped: ${abortReason?.message ?? String(error)}`,
        );
        if (this.stopping)
          await this.dataSource
            .transaction((tx) => this.imports.releaseImport(tx, run))
            .catch(() => undefined);
        return;
      }
      if (!isPermanentImportError(error)) {
        // Storage or database trouble: not the report's fault. The job fails, pg-boss retries it
        // after a backoff (here or on another instance) and the claim takes the import once its
        // lease lapsed (IMPORT_LEASE_SECONDS), MAX_ATTEMPTS runs in all.
        this.metrics.runEnded('retried');
        this.logger.warn(
          `Import ${run.id} of scan ${run.scanId} will be retried: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw error;
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
    else await this.outcomes.notify(tx, { taskId: run.taskId, scanId: run.scanId, phase, message });
  }

  /** Marks the run failed and tells the scan's history, in one transaction. */
  private async fail(run: ClaimedImport, reason: string): Promise<void> {
    const error = reason.slice(0, MAX_ERROR_CHARS) || 'Unknown error';
    const failed = await this.dataSource.transaction(async (tx) => {
      if (!(await this.imports.failImport(tx, run, error))) return false;
      await this.noteOutcome(tx, run, 'failed', `Import failed: ${error}`);
      return true;
    });
    if (failed) this.metrics.runEnded('failed');
    this.logger.warn(`Import ${run.id} of scan ${run.scanId} failed: ${error}`);
  }
}

/**
 * Ends the run when its lease was lost or the instance is stopping (set by the heartbeat, which
 * TypeScript's narrowing cannot see between two awaits).
 */
function throwIfAborted(reason: Error | undefined): void {
  if (reason) throw reason;
}

/** The report itself is bad (or gone): trying again cannot help. */
function isPermanentImportError(error: unknown): boolean {
  return (
    error instanceof ScanReportParseError ||
    error instanceof StoredScanMissing ||
    error instanceof UnknownReportFormat
  );
}

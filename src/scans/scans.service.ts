/** Scans: result files stored for an application by completed tasks and direct uploads. */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Readable } from 'node:stream';
import { EntityManager } from 'typeorm';
import { ApplicationNotFound } from '../applications/applications.service';
import { TeamScope } from '../auth/team-scope';
import { JobsService } from '../background/jobs.service';
import { NotFound } from '../rest/rest-error';
import { ScanStorage } from '../storage/scan-storage';
import { StoredScanMissing } from '../storage/storage-errors';
import { ScanEntity } from './scan.entity';
import { SCAN_IMPORT_JOB, ScanImportJob } from './scan-import-job';
import { NewScan, ScansRepository } from './scans.repository';

/** A stored scan file for a download: a file gone from storage answers as a missing one (404). */
export async function openStoredFile(storage: ScanStorage, key: string): Promise<Readable> {
  try {
    return await storage.openRead(key);
  } catch (error) {
    if (error instanceof StoredScanMissing) throw new NotFound(error.message);
    throw error;
  }
}

/** How far back the boot reconciliation looks for files of this instance without a scan row. */
const RECONCILE_WINDOW_MS = 24 * 3600_000;

@Injectable()
export class ScansService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ScansService.name);

  constructor(
    private readonly repository: ScansRepository,
    private readonly storage: ScanStorage,
    private readonly jobs: JobsService,
  ) {}

  /**
   * completeTask renames the file into place, then commits the scan row. A crash between the two
   * leaves a file no scan refers to; at boot (when this instance has no commit in flight) such
   * files of this instance are removed.
   */
  async onApplicationBootstrap(): Promise<void> {
    const keys = await this.storage.ownKeysSince(new Date(Date.now() - RECONCILE_WINDOW_MS));
    if (keys.length === 0) return;
    const referenced = await this.repository.recordedStorageKeys(keys);
    const orphans = keys.filter((key) => !referenced.has(key));
    for (const key of orphans) await this.storage.remove(key);
    if (orphans.length > 0)
      this.logger.warn(`Removed ${orphans.length} stored file(s) of scans that never committed`);
  }

  /** Whether a committed scan row refers to this stored file (asked on a connection of its own). */
  isStorageKeyRecorded(storageKey: string): Promise<boolean> {
    return this.repository.isStorageKeyRecorded(storageKey);
  }

  /**
   * Records the scan and queues its import in the caller's transaction: a committed scan always
   * has an import job, and a rolled-back completeTask leaves neither (src/imports runs it later).
   */
  async record(tx: EntityManager, scan: NewScan): Promise<ScanEntity> {
    const saved = await this.repository.insert(tx, scan);
    await this.jobs.send<ScanImportJob>(tx, SCAN_IMPORT_JOB, {
      scanId: saved.id,
      applicationId: saved.applicationId,
      scanner: saved.scanner,
    });
    return saved;
  }

  /**
   * An application's scans, oldest first (scanqueue's order; ThreadFix listed newest first). A
   * missing application is 404, and so is one outside the scope (the same message). An
   * application without scans is `[]` (ThreadFix answered a failure).
   */
  async listForApplication(applicationId: number, scope: TeamScope): Promise<ScanEntity[]> {
    if (!(await this.repository.applicationReached(applicationId, scope)))
      throw new ApplicationNotFound(applicationId);
    return this.repository.listForApplication(applicationId);
  }

  /** One scan of an application; outside the scope it is missing (the same 404 and message). */
  async get(applicationId: number, scanId: number, scope: TeamScope): Promise<ScanEntity> {
    const scan = await this.repository.findInScope(applicationId, scanId, scope);
    if (!scan) throw new NotFound(`No scan ${scanId} found for application ${applicationId}.`);
    return scan;
  }

  async openFile(
    applicationId: number,
    scanId: number,
    scope: TeamScope,
  ): Promise<{ scan: ScanEntity; stream: Readable }> {
    const scan = await this.get(applicationId, scanId, scope);
    return { scan, stream: await openStoredFile(this.storage, scan.storageKey) };
  }
}

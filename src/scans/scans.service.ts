/** Scans: result files stored for an application by completed tasks. */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, EntityManager } from 'typeorm';
import { ApplicationNotFound } from '../applications/applications.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { reachesTeam } from '../auth/team-scope';
import { queueScanImport } from '../imports/scan-imports.repository';
import { NotFound } from '../rest/rest-error';
import { ScanStorage } from '../storage/scan-storage';
import { ScanEntity } from './scan.entity';

export interface NewScan {
  applicationId: number;
  /** Exactly one of the two: the task whose completeTask stored it, or the direct upload. */
  taskId: number | null;
  uploadId: number | null;
  scanner: string;
  originalFilename: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
}

/** How far back the boot reconciliation looks for files of this instance without a scan row. */
const RECONCILE_WINDOW_MS = 24 * 3600_000;

@Injectable()
export class ScansService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ScansService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
  ) {}

  /**
   * completeTask renames the file into place, then commits the scan row. A crash between the two
   * leaves a file no scan refers to; at boot (when this instance has no commit in flight) such
   * files of this instance are removed.
   */
  async onApplicationBootstrap(): Promise<void> {
    const keys = await this.storage.ownKeysSince(new Date(Date.now() - RECONCILE_WINDOW_MS));
    if (keys.length === 0) return;
    const rows: { storage_key: string }[] = await this.dataSource.query(
      'SELECT storage_key FROM scans WHERE storage_key = ANY($1::text[])',
      [keys],
    );
    const referenced = new Set(rows.map((row) => row.storage_key));
    const orphans = keys.filter((key) => !referenced.has(key));
    for (const key of orphans) await this.storage.remove(key);
    if (orphans.length > 0)
      this.logger.warn(`Removed ${orphans.length} stored file(s) of scans that never committed`);
  }

  /**
   * Records the scan and queues its import in the caller's transaction: a committed scan always
   * has an import run, and a rolled-back completeTask leaves neither (src/imports runs it later).
   */
  /** Whether a committed scan row refers to this stored file (asked on a connection of its own). */
  async isStorageKeyRecorded(storageKey: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM scans WHERE storage_key = $1',
      [storageKey],
    );
    return rows.length > 0;
  }

  async record(tx: EntityManager, scan: NewScan): Promise<ScanEntity> {
    const saved = await tx.save(
      tx.create(ScanEntity, {
        ...scan,
        originalFilename: scan.originalFilename.slice(0, 255),
        sizeBytes: String(scan.sizeBytes),
      }),
    );
    await queueScanImport(tx, saved);
    return saved;
  }

  /**
   * An application's scans, oldest first (scanqueue's order; ThreadFix listed newest first), when
   * the caller reaches the application's team; a missing or out-of-scope application is 404. An
   * application without scans is `[]` (ThreadFix answered a failure).
   */
  async listReachable(caller: AuthenticatedCaller, applicationId: number): Promise<ScanEntity[]> {
    const rows: { team_id: number }[] = await this.dataSource.query(
      'SELECT team_id FROM applications WHERE id = $1',
      [applicationId],
    );
    if (rows.length === 0 || !reachesTeam(caller, rows[0].team_id))
      throw new ApplicationNotFound(applicationId);
    return this.listForApplication(applicationId);
  }

  listForApplication(applicationId: number): Promise<ScanEntity[]> {
    return this.dataSource
      .getRepository(ScanEntity)
      .find({ where: { applicationId }, order: { id: 'ASC' } });
  }

  async get(applicationId: number, scanId: number): Promise<ScanEntity> {
    const scan = await this.dataSource
      .getRepository(ScanEntity)
      .findOneBy({ id: scanId, applicationId });
    if (!scan) throw new NotFound(`No scan ${scanId} found for application ${applicationId}.`);
    return scan;
  }

  async openFile(
    applicationId: number,
    scanId: number,
  ): Promise<{ scan: ScanEntity; stream: Readable }> {
    const scan = await this.get(applicationId, scanId);
    return { scan, stream: await this.storage.openRead(scan.storageKey) };
  }
}

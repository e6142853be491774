/** Scans: result files stored for an application by completed tasks and direct uploads. */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, EntityManager, FindOptionsWhere, In } from 'typeorm';
import { ApplicationNotFound } from '../applications/applications.service';
import { TeamScope, teamInScopeSql, teamScopeParam } from '../auth/team-scope';
import { JobsService } from '../background/jobs.service';
import { NotFound } from '../rest/rest-error';
import { ScanStorage } from '../storage/scan-storage';
import { ScanEntity } from './scan.entity';
import { SCAN_IMPORT_JOB, ScanImportJob } from './scan-import-job';

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

  /** Whether a committed scan row refers to this stored file (asked on a connection of its own). */
  async isStorageKeyRecorded(storageKey: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM scans WHERE storage_key = $1',
      [storageKey],
    );
    return rows.length > 0;
  }

  /**
   * Records the scan and queues its import in the caller's transaction: a committed scan always
   * has an import job, and a rolled-back completeTask leaves neither (src/imports runs it later).
   */
  async record(tx: EntityManager, scan: NewScan): Promise<ScanEntity> {
    const saved = await tx.save(
      tx.create(ScanEntity, {
        ...scan,
        originalFilename: scan.originalFilename.slice(0, 255),
        sizeBytes: String(scan.sizeBytes),
      }),
    );
    await this.jobs.send<ScanImportJob>(tx, SCAN_IMPORT_JOB, {
      scanId: saved.id,
      applicationId: saved.applicationId,
      scanner: saved.scanner,
    });
    return saved;
  }

  /** A scan's filter for a scope: its application in one of the scope's teams, or none. */
  private inScope(scope: TeamScope): FindOptionsWhere<ScanEntity> {
    return scope.teamIds === null ? {} : { application: { teamId: In([...scope.teamIds]) } };
  }

  /**
   * An application's scans, oldest first (scanqueue's order; ThreadFix listed newest first). A
   * missing application is 404, and so is one outside the scope (the same message). An
   * application without scans is `[]` (ThreadFix answered a failure).
   */
  async listForApplication(applicationId: number, scope: TeamScope): Promise<ScanEntity[]> {
    const reached: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM applications WHERE id = $1 AND ${teamInScopeSql('$2', 'team_id')}`,
      [applicationId, teamScopeParam(scope)],
    );
    if (reached.length === 0) throw new ApplicationNotFound(applicationId);
    return this.dataSource
      .getRepository(ScanEntity)
      .find({ where: { applicationId }, order: { id: 'ASC' } });
  }

  /** One scan of an application; outside the scope it is missing (the same 404 and message). */
  async get(applicationId: number, scanId: number, scope: TeamScope): Promise<ScanEntity> {
    const scan = await this.dataSource
      .getRepository(ScanEntity)
      .findOneBy({ id: scanId, applicationId, ...this.inScope(scope) });
    if (!scan) throw new NotFound(`No scan ${scanId} found for application ${applicationId}.`);
    return scan;
  }

  async openFile(
    applicationId: number,
    scanId: number,
    scope: TeamScope,
  ): Promise<{ scan: ScanEntity; stream: Readable }> {
    const scan = await this.get(applicationId, scanId, scope);
    return { scan, stream: await this.storage.openRead(scan.storageKey) };
  }
}

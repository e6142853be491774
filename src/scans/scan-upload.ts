/**
 * The one path a scan file takes from a request to a recorded scan, shared by completeTask (an
 * agent's result) and the direct upload (ThreadFix's `POST /applications/{id}/upload`): the file
 * streams through the inspector (size, SHA-256, strict XML, scanner detection, in the XML-check
 * workers) into a temporary upload; it is made durable (fsync and rename, or S3's completion) only
 * when the caller commits it, and it is recorded (scan row and import run) in the caller's
 * transaction. Whatever fails on the way, no temporary file and no file without a committed scan
 * row outlives the call.
 */
import { Injectable, Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout } from 'node:timers/promises';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailable } from '../errors/database-unavailable';
import { failWhenIdle } from './upload-watchdog';
import { ScanStorage, ScanStorageUpload, StoredObject } from '../storage/scan-storage';
import { ScanFileInspection, ScanFileInspector } from './scan-file-inspector';
import { ScanXmlCheckPool } from './scan-xml-check.pool';
import { ScanEntity } from './scan.entity';
import { ScannerType } from './scanner-types';
import { ScansService } from './scans.service';
// Registers the upload events' message mapper with the relays (events/event.mapper.ts).
import './upload-events';

const logger = new Logger('ScanIntake');
/** How often, and how patiently, a failed COMMIT's outcome is asked for before the file is kept. */
const OUTCOME_CHECK_ATTEMPTS = 4;
const OUTCOME_CHECK_DELAY_MS = 100;

/** A file that passed the inspection and waits in temporary storage. */
export interface StagedScanFile {
  filename: string;
  inspection: ScanFileInspection;
}

/**
 * What the parameters before the file decided: `skip` reads the file and drops it (a repeat of a
 * call that already succeeded), `expectedScanner` is the scanner the file must be of.
 */
export interface BeforeScanFile {
  skip?: boolean;
  expectedScanner?: ScannerType;
}

/** Where a recorded scan came from: a task (completeTask) or a direct upload. */
export type ScanSource =
  { taskId: number; uploadId?: never } | { uploadId: number; taskId?: never };

/** One call's scan file: received, then committed, then recorded (or cleaned up by ScanIntake.run). */
export class ScanIntakeSession {
  private upload?: ScanStorageUpload;
  private staged?: StagedScanFile;
  private stored?: StoredObject;
  private recorded = false;

  constructor(
    private readonly config: AppConfig,
    private readonly storage: ScanStorage,
    private readonly xmlCheckPool: ScanXmlCheckPool,
    private readonly scans: ScansService,
  ) {}

  /** The file received so far, if any. */
  get file(): StagedScanFile | undefined {
    return this.staged;
  }

  /**
   * Streams the file part through the inspector into a temporary upload. `expectedScanner` (the
   * task's) refuses a report of another scanner as soon as its first elements show it, when
   * REQUIRE_MATCHING_SCANNER is on. Throws UnprocessableScanFile (422), PayloadTooLarge (413) or
   * RequestTimedOut (408, the client stopped sending); the temporary upload is then gone.
   */
  async receive(
    stream: Readable,
    filename: string,
    expectedScanner?: ScannerType,
  ): Promise<StagedScanFile> {
    if (this.upload) throw new Error('ScanIntakeSession: one file per call');
    const upload = await this.storage.beginUpload(filename || 'scan.xml');
    const expected = this.config.REQUIRE_MATCHING_SCANNER ? expectedScanner?.shortName : undefined;
    const inspector = new ScanFileInspector({
      expectedScanner: expected,
      check: this.xmlCheckPool.open({ expectedScanner: expected }),
    });
    const disarm = failWhenIdle(stream, this.config.UPLOAD_IDLE_TIMEOUT_SECONDS * 1000);
    try {
      await pipeline(stream, inspector, upload.stream);
    } catch (error) {
      await upload.abort();
      throw error;
    } finally {
      disarm();
    }
    this.upload = upload;
    this.staged = { filename, inspection: inspector.result };
    return this.staged;
  }

  /** Makes the received file durable under its final key (idempotent). */
  async commit(): Promise<StoredObject> {
    if (!this.upload) throw new Error('ScanIntakeSession: commit before a file was received');
    this.stored ??= await this.upload.commit();
    return this.stored;
  }

  /**
   * Records the committed file as a scan of `applicationId` and queues its import, in the caller's
   * transaction. If that transaction then rolls back, ScanIntake.run removes the file again.
   */
  async record(tx: EntityManager, applicationId: number, source: ScanSource): Promise<ScanEntity> {
    if (!this.stored || !this.staged)
      throw new Error('ScanIntakeSession: record before the file was committed');
    const scan = await this.scans.record(tx, {
      applicationId,
      taskId: source.taskId ?? null,
      uploadId: source.uploadId ?? null,
      scanner: this.staged.inspection.scanner.displayName,
      originalFilename: this.staged.filename || 'scan.xml',
      sizeBytes: this.staged.inspection.sizeBytes,
      sha256: this.staged.inspection.sha256,
      storageKey: this.stored.key,
    });
    this.recorded = true;
    return scan;
  }

  /** After the call succeeded: a file committed but not recorded (a repeat) is removed. */
  async settle(): Promise<void> {
    if (this.stored && !this.recorded) await this.removeStored();
    else if (!this.stored) await this.upload?.abort();
  }

  /**
   * After the call failed: its transaction rolled back, so nothing it stored may stay. Unless the
   * connection broke during COMMIT: then the outcome is unknown here and the database is asked (on
   * a new connection) whether the scan was recorded after all; when it cannot answer, the file
   * stays rather than risk a committed scan without its file, and the boot reconciliation removes
   * it if no scan refers to it.
   */
  async discard(error: unknown): Promise<void> {
    if (!this.stored) return this.upload?.abort();
    const key = this.stored.key;
    if (this.recorded && isDatabaseUnavailable(error)) {
      for (let attempt = 1; ; attempt++) {
        try {
          if (await this.scans.isStorageKeyRecorded(key)) return;
          break;
        } catch (checkError) {
          if (attempt === OUTCOME_CHECK_ATTEMPTS) {
            logger.warn(
              `Kept scan file ${key}: could not tell whether its scan committed (${String(checkError)})`,
            );
            return;
          }
          await setTimeout(OUTCOME_CHECK_DELAY_MS * attempt);
        }
      }
    }
    await this.removeStored();
  }

  private async removeStored(): Promise<void> {
    await this.storage.remove((this.stored as StoredObject).key).catch(() => undefined);
  }
}

@Injectable()
export class ScanIntake {
  constructor(
    private readonly config: AppConfig,
    private readonly storage: ScanStorage,
    private readonly xmlCheckPool: ScanXmlCheckPool,
    private readonly scans: ScansService,
  ) {}

  /**
   * Runs one use case that takes a scan file: `work` receives, commits and records it through the
   * session. On success a file left unrecorded is removed; on failure everything stored is.
   */
  async run<T>(work: (session: ScanIntakeSession) => Promise<T>): Promise<T> {
    const session = new ScanIntakeSession(this.config, this.storage, this.xmlCheckPool, this.scans);
    let result: T;
    try {
      result = await work(session);
    } catch (error) {
      await session.discard(error);
      throw error;
    }
    await session.settle();
    return result;
  }
}

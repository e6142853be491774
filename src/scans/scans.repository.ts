/**
 * All SQL of scans: the scan rows and their stored files, a ThreadFix scan's file and findings, and
 * a direct upload's rows and history. Raw SQL on scan_imports and findings: scans sits below
 * imports in the module graph and knows those tables, not that module. The upload history writes,
 * for the phases other services hear about, the outbox event (src/events) in the same statement,
 * so a phase, its history row and its event commit or roll back together, as task-transitions.repository.ts
 * does for tasks.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, FindOptionsWhere, In } from 'typeorm';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { teamInScopeSql } from '../auth/team-scope.repository';
import { EVENT_MESSAGE_MAX_CHARS, EVENT_OF_UPLOAD_PHASE } from '../events/event-types';
import type { ImportPhase } from './import-phase';
import type { UploadActorType } from './scan-upload.entity';
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

/** A scan's stored file, for ThreadFix's download. */
export interface ScanFileRow {
  id: number;
  original_filename: string;
  size_bytes: string;
  storage_key: string;
}

export interface FindingRow {
  id: string;
  rule_id: string;
  name: string;
  severity: string;
  cwe: number | null;
  url: string | null;
  path: string | null;
  parameter: string | null;
  evidence: string | null;
  fingerprint: string;
}

@Injectable()
export class ScansRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Those of `keys` a scan row refers to. */
  async recordedStorageKeys(keys: readonly string[]): Promise<Set<string>> {
    const rows: { storage_key: string }[] = await this.dataSource.query(
      'SELECT storage_key FROM scans WHERE storage_key = ANY($1::text[])',
      [keys],
    );
    return new Set(rows.map((row) => row.storage_key));
  }

  /** Whether a committed scan row refers to this stored file (asked on a connection of its own). */
  async isStorageKeyRecorded(storageKey: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM scans WHERE storage_key = $1',
      [storageKey],
    );
    return rows.length > 0;
  }

  /** Inserts the scan in the caller's transaction (ScansService.record sends its import job beside it). */
  async insert(tx: EntityManager, scan: NewScan): Promise<ScanEntity> {
    return tx.save(
      tx.create(ScanEntity, {
        ...scan,
        originalFilename: scan.originalFilename.slice(0, 255),
        sizeBytes: String(scan.sizeBytes),
      }),
    );
  }

  /** Whether the application exists in a team of the scope. */
  async applicationReached(applicationId: number, scope: TeamScope): Promise<boolean> {
    const reached: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM applications WHERE id = $1 AND ${teamInScopeSql('$2', 'team_id')}`,
      [applicationId, teamScopeParam(scope)],
    );
    return reached.length > 0;
  }

  /** An application's scans, oldest first. */
  listForApplication(applicationId: number): Promise<ScanEntity[]> {
    return this.dataSource
      .getRepository(ScanEntity)
      .find({ where: { applicationId }, order: { id: 'ASC' } });
  }

  /** One scan of an application in a team of the scope. */
  findInScope(applicationId: number, scanId: number, scope: TeamScope): Promise<ScanEntity | null> {
    return this.dataSource
      .getRepository(ScanEntity)
      .findOneBy({ id: scanId, applicationId, ...inScope(scope) });
  }

  /** The scan, when its application is in the scope; else undefined, as for a missing one. */
  async reachableScanFile(scope: TeamScope, scanId: number): Promise<ScanFileRow | undefined> {
    const rows: ScanFileRow[] = await this.dataSource.query(
      `SELECT s.id, s.original_filename, s.size_bytes, s.storage_key
       FROM scans s JOIN applications a ON a.id = s.application_id
       WHERE s.id = $1 AND ${teamInScopeSql('$2', 'a.team_id')}`,
      [scanId, teamScopeParam(scope)],
    );
    return rows[0];
  }

  /** One page of a scan's findings in report order; served by findings_scan_id_id_idx. */
  findingsPage(scanId: number, page: number, pageSize: number): Promise<FindingRow[]> {
    return this.dataSource.query(
      `SELECT id, rule_id, name, severity, cwe, url, path, parameter, evidence, fingerprint
       FROM findings WHERE scan_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
      [scanId, pageSize, (page - 1) * pageSize],
    );
  }
}

/** A scan's filter for a scope: its application in one of the scope's teams, or none. */
function inScope(scope: TeamScope): FindOptionsWhere<ScanEntity> {
  return scope.teamIds === null ? {} : { application: { teamId: In([...scope.teamIds]) } };
}

export interface UploadActor {
  type: UploadActorType;
  id: number | null;
}

export const SYSTEM: UploadActor = { type: 'system', id: null };

/**
 * Appends the history row of `phase` to the upload that stored scan `scanId`, with its event when
 * the phase has one (EVENT_OF_UPLOAD_PHASE). A scan of a task has no upload: nothing is written and
 * the answer is false, so the import runner can call this for every scan it imports.
 */
export async function recordUploadPhase(
  tx: EntityManager,
  scanId: number,
  phase: ImportPhase,
  message: string,
  actor: UploadActor = SYSTEM,
): Promise<boolean> {
  const rows: unknown[] = await tx.query(
    `WITH upload AS (
       SELECT u.id, u.application_id, u.api_key_id, u.original_filename, u.created_at,
              s.id AS scan_id, s.scanner, s.sha256, s.size_bytes
       FROM scans s JOIN scan_uploads u ON u.id = s.upload_id
       WHERE s.id = $1
     ), history AS (
       INSERT INTO scan_upload_history (upload_id, phase, message, actor_type, actor_id)
       SELECT id, $2, $3, $4, $5 FROM upload
       RETURNING id
     ), outbox AS (
       INSERT INTO outbox_events (event_type, subject, aggregate_id, payload)
       SELECT $6::varchar, $6::varchar, u.id, jsonb_build_object(
         'upload', jsonb_build_object(
           'id', u.id, 'applicationId', u.application_id, 'apiKeyId', u.api_key_id,
           'originalFilename', u.original_filename, 'createdAt', u.created_at),
         'scan', jsonb_build_object(
           'id', u.scan_id, 'scanner', u.scanner, 'sha256', u.sha256, 'sizeBytes', u.size_bytes),
         'phase', $2::text,
         'message', left($3::text, ${EVENT_MESSAGE_MAX_CHARS}))
       FROM upload u
       WHERE $6::varchar IS NOT NULL
     )
     SELECT id FROM history`,
    [scanId, phase, message, actor.type, actor.id, EVENT_OF_UPLOAD_PHASE[phase] ?? null],
  );
  return rows.length === 1;
}

/** The upload row, written in the transaction that records its scan. */
export async function insertScanUpload(
  tx: EntityManager,
  upload: { applicationId: number; apiKeyId: number; originalFilename: string },
): Promise<{ id: number; created_at: Date }> {
  const rows: { id: number; created_at: Date }[] = await tx.query(
    `INSERT INTO scan_uploads (application_id, api_key_id, original_filename)
     VALUES ($1, $2, $3) RETURNING id, created_at`,
    [upload.applicationId, upload.apiKeyId, upload.originalFilename.slice(0, 255)],
  );
  return rows[0];
}

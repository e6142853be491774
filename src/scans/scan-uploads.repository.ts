/** The direct uploads' reads: the application an upload may go to, and an upload's pending-scan row. */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { ImportPhase } from './import-phase';
import { TeamScope, teamScopeParam } from '../auth/team-scope';
import { teamInScopeSql } from '../auth/team-scope.repository';

export interface PendingScanRow {
  id: number;
  application_id: number;
  original_filename: string;
  created_at: Date;
  modified_at: Date | null;
  scan_id: number;
  phase: ImportPhase | null;
  error: string | null;
}

@Injectable()
export class ScanUploadsRepository {
  /** An upload of this application in the scope, with its import's phase. */
  async findPendingScan(
    m: EntityManager,
    scope: TeamScope,
    applicationId: number,
    uploadId: number,
  ): Promise<PendingScanRow | undefined> {
    const rows: PendingScanRow[] = await m.query(
      `SELECT u.id, u.application_id, u.original_filename, u.created_at,
              (SELECT max(h.created_at) FROM scan_upload_history h WHERE h.upload_id = u.id) AS modified_at,
              s.id AS scan_id, i.phase, i.error
       FROM scan_uploads u
       JOIN applications a ON a.id = u.application_id
       JOIN scans s ON s.upload_id = u.id
       LEFT JOIN scan_imports i ON i.scan_id = s.id
       WHERE u.id = $1 AND u.application_id = $2 AND ${teamInScopeSql('$3', 'a.team_id')}`,
      [uploadId, applicationId, teamScopeParam(scope)],
    );
    return rows[0];
  }

  /** Whether an active application of an active team in the scope has this id (optionally share-locked). */
  async isReachableApplication(
    m: EntityManager,
    scope: TeamScope,
    applicationId: number,
    options: { lock?: boolean } = {},
  ): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `SELECT 1 FROM applications a JOIN teams t ON t.id = a.team_id
       WHERE a.id = $1 AND a.active AND t.active AND ${teamInScopeSql('$2', 'a.team_id')}
       ${options.lock ? 'FOR SHARE OF a' : ''}`,
      [applicationId, teamScopeParam(scope)],
    );
    return rows.length > 0;
  }
}

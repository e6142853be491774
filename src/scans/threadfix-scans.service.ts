/**
 * ThreadFix's scan details (statistics and a page of findings) and scan file download. A scan of an
 * application in a team the key does not reach answers as a missing one.
 */
import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { toScanStat } from '../applications/threadfix-application.mapper';
import { scanStats } from '../applications/threadfix-applications.repository';
import { TeamScope } from '../auth/team-scope';
import { NotFound } from '../rest/rest-error';
import { ScanStorage } from '../storage/scan-storage';
import { FindingRow, ScansRepository } from './scans.repository';
import { openStoredFile } from './scans.service';
import {
  MAX_FINDINGS_PAGE_SIZE,
  ScanDetailsJson,
  ThreadFixFindingJson,
} from './threadfix-scan.dto';

// ThreadFix's messages (ScansRestController, ScanServiceImpl.downloadScan).
export const NO_SCAN = 'No scan exists for requested id';
export const NO_VALID_SCAN_FILE = 'There is no valid scan file.';
export const noFileNamed = (name: string) => `Unable to find file with name ${name}`;

const capitalized = (severity: string) => severity.charAt(0).toUpperCase() + severity.slice(1);

function toThreadFixFinding(row: FindingRow): ThreadFixFindingJson {
  const id = Number(row.id);
  return {
    id,
    nativeId: row.fingerprint,
    displayId: row.rule_id,
    vulnerabilityType: row.name,
    severity: capitalized(row.severity),
    longDescription: null,
    attackString: row.evidence,
    attackRequest: null,
    attackResponse: null,
    calculatedUrlPath: row.path,
    calculatedFilePath: null,
    sourceFileLocation: null,
    surfaceLocation: { id, parameter: row.parameter, path: row.path },
    dataFlowElements: [],
    dependency: null,
    cwe: row.cwe,
    url: row.url,
  };
}

@Injectable()
export class ThreadFixScansService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: ScansRepository,
    private readonly storage: ScanStorage,
  ) {}

  /** The scan's statistics and one page of its findings (report order). */
  async details(
    scope: TeamScope,
    scanId: number,
    page = 1,
    pageSize = MAX_FINDINGS_PAGE_SIZE,
  ): Promise<ScanDetailsJson> {
    const scan = await this.repository.reachableScanFile(scope, scanId);
    if (!scan) throw new NotFound(NO_SCAN);
    const [stats] = await scanStats(this.dataSource.manager, { scanIds: [scan.id] });
    const findings = await this.repository.findingsPage(scan.id, page, pageSize);
    return { ...toScanStat(stats), findings: findings.map(toThreadFixFinding) };
  }

  /**
   * The scan's file as uploaded. `scanFileName`, when given, must be its original name exactly
   * (ThreadFix matched any stored path ending with it).
   */
  async openFile(
    scope: TeamScope,
    scanId: number,
    scanFileName: string | undefined,
  ): Promise<{ filename: string; sizeBytes: number; stream: Readable }> {
    const scan = await this.repository.reachableScanFile(scope, scanId);
    if (!scan) throw new NotFound(NO_VALID_SCAN_FILE);
    if (scanFileName !== undefined && scanFileName !== scan.original_filename)
      throw new NotFound(noFileNamed(scanFileName));
    return {
      filename: scan.original_filename,
      sizeBytes: Number(scan.size_bytes),
      stream: await openStoredFile(this.storage, scan.storage_key),
    };
  }
}

/** The imports API's use cases: read-only views of vulnerabilities, findings and import runs. */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TeamScope } from '../auth/team-scope';
import { ApplicationsService } from '../applications/applications.service';
import { BadRestParameter, NotFound } from '../rest/rest-error';
import { resolveScanner, SCAN_AGENT_SCANNERS } from '../scans/scanner-types';
import { ScansService } from '../scans/scans.service';
import {
  FindingPageDto,
  ListVulnerabilitiesParams,
  PageParams,
  ScanImportDto,
  toFindingDto,
  toScanImportDto,
  toVulnerabilityDto,
  VulnerabilityPageDto,
} from './imports.dto';
import { VulnerabilitiesRepository } from './vulnerabilities.repository';

const DEFAULT_PAGE_SIZE = 50;

function paging(params: PageParams): { page: number; pageSize: number; offset: number } {
  const page = params.page ?? 1;
  const pageSize = params.pageSize ?? DEFAULT_PAGE_SIZE;
  return { page, pageSize, offset: (page - 1) * pageSize };
}

@Injectable()
export class ImportsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly applications: ApplicationsService,
    private readonly scans: ScansService,
    private readonly vulnerabilities: VulnerabilitiesRepository,
  ) {}

  async listVulnerabilities(
    scope: TeamScope,
    applicationId: number,
    params: ListVulnerabilitiesParams,
  ): Promise<VulnerabilityPageDto> {
    let scanner: string | undefined;
    if (params.scanner !== undefined) {
      scanner = resolveScanner(params.scanner)?.shortName;
      if (!scanner) {
        const known = SCAN_AGENT_SCANNERS.map((s) => s.shortName).join(', ');
        throw new BadRestParameter(`Unknown scanner: ${params.scanner}. Scanners: ${known}.`);
      }
    }
    await this.applications.get(applicationId, scope);
    const { page, pageSize, offset } = paging(params);
    // One snapshot: the counts and the page agree even while an import merges.
    const { total, rows, countsBySeverity } = await this.dataSource.transaction(
      'REPEATABLE READ',
      (tx) =>
        this.vulnerabilities.listVulnerabilities(tx, {
          applicationId,
          severity: params.severity,
          scanner,
          status: params.status,
          cwe: params.cwe,
          limit: pageSize,
          offset,
        }),
    );
    return {
      total,
      page,
      pageSize,
      countsBySeverity,
      vulnerabilities: rows.map(toVulnerabilityDto),
    };
  }

  async listFindings(
    scope: TeamScope,
    applicationId: number,
    scanId: number,
    params: PageParams,
  ): Promise<FindingPageDto> {
    await this.scans.get(applicationId, scanId, scope);
    const { page, pageSize, offset } = paging(params);
    const { total, rows } = await this.vulnerabilities.listFindings(
      this.dataSource.manager,
      scanId,
      pageSize,
      offset,
    );
    return { total, page, pageSize, findings: rows.map(toFindingDto) };
  }

  async getImport(scope: TeamScope, applicationId: number, scanId: number): Promise<ScanImportDto> {
    await this.scans.get(applicationId, scanId, scope);
    const row = await this.vulnerabilities.findScanImport(this.dataSource.manager, scanId);
    // Scans stored before imports existed have none.
    if (!row) throw new NotFound(`Scan ${scanId} has no import.`);
    return toScanImportDto(row);
  }
}

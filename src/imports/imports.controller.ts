import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Permission } from '../auth/permission';
import { RequirePermission } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import {
  FindingPageDto,
  ListVulnerabilitiesParams,
  PageParams,
  ScanImportDto,
  VulnerabilityPageDto,
} from './imports.dto';
import { ImportsService } from './imports.service';

/** Who may read an application's scans (scans.controller.ts) may read what they found. */
const READ = [
  Permission.READ_ACCESS,
  Permission.CAN_MANAGE_APPLICATIONS,
  Permission.CAN_MANAGE_SCAN_AGENTS,
];

@ApiTags('vulnerabilities')
@Controller('rest/applications/:applicationId')
@RequirePermission(READ)
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Get('vulnerabilities')
  @ApiOperation({
    summary:
      "An application's vulnerabilities (merged across its scans), most severe first, with counts by severity",
  })
  @ApiEnvelope(VulnerabilityPageDto, { failures: [404] })
  listVulnerabilities(
    @Param('applicationId') applicationId: string,
    @Query() params: ListVulnerabilitiesParams,
  ): Promise<VulnerabilityPageDto> {
    return this.imports.listVulnerabilities(parseId(applicationId, 'applicationId'), params);
  }

  @Get('scans/:scanId/findings')
  @ApiOperation({ summary: "A scan's normalized findings, in report order" })
  @ApiEnvelope(FindingPageDto, { failures: [404] })
  listFindings(
    @Param('applicationId') applicationId: string,
    @Param('scanId') scanId: string,
    @Query() params: PageParams,
  ): Promise<FindingPageDto> {
    return this.imports.listFindings(
      parseId(applicationId, 'applicationId'),
      parseId(scanId, 'scanId'),
      params,
    );
  }

  @Get('scans/:scanId/import')
  @ApiOperation({ summary: "A scan's import run: phase, counts, error" })
  @ApiEnvelope(ScanImportDto, { failures: [404] })
  getImport(
    @Param('applicationId') applicationId: string,
    @Param('scanId') scanId: string,
  ): Promise<ScanImportDto> {
    return this.imports.getImport(
      parseId(applicationId, 'applicationId'),
      parseId(scanId, 'scanId'),
    );
  }
}

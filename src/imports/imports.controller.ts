import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
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

@ApiTags('vulnerabilities')
@Controller('rest/applications/:applicationId')
// Who may read an application's scans (scans.controller.ts) may read what they found.
@RequireAccess(ACCESS.scanRead)
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  @Get('vulnerabilities')
  @ApiOperation({
    summary:
      "An application's vulnerabilities (merged across its scans), most severe first, with counts by severity",
  })
  @ApiEnvelope(VulnerabilityPageDto, { failures: [404] })
  listVulnerabilities(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Query() params: ListVulnerabilitiesParams,
  ): Promise<VulnerabilityPageDto> {
    return this.imports.listVulnerabilities(
      caller,
      parseId(applicationId, 'applicationId'),
      params,
    );
  }

  @Get('scans/:scanId/findings')
  @ApiOperation({ summary: "A scan's normalized findings, in report order" })
  @ApiEnvelope(FindingPageDto, { failures: [404] })
  listFindings(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scanId') scanId: string,
    @Query() params: PageParams,
  ): Promise<FindingPageDto> {
    return this.imports.listFindings(
      caller,
      parseId(applicationId, 'applicationId'),
      parseId(scanId, 'scanId'),
      params,
    );
  }

  @Get('scans/:scanId/import')
  @ApiOperation({ summary: "A scan's import run: phase, counts, error" })
  @ApiEnvelope(ScanImportDto, { failures: [404] })
  getImport(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scanId') scanId: string,
  ): Promise<ScanImportDto> {
    return this.imports.getImport(
      caller,
      parseId(applicationId, 'applicationId'),
      parseId(scanId, 'scanId'),
    );
  }
}

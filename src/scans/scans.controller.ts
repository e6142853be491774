import { Controller, Get, Param, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { parseId } from '../rest/rest-params';
import { ScanDto, toScanDto } from './scan.dto';
import { ScansService } from './scans.service';

@ApiTags('scans')
@Controller('rest/applications/:applicationId/scans')
@RequireAccess(ACCESS.scanRead)
export class ScansController {
  constructor(private readonly scans: ScansService) {}

  // Also ThreadFix's "list scans": one route, whose items carry both shapes (no field collides).
  @Get()
  @ApiOperation({
    summary: "List an application's scans, oldest first (scanqueue's fields and ThreadFix's)",
    description:
      'ThreadFix’s `metadata` parameter is ignored (scanqueue has no scan metadata). No scans: `[]`; an application that is missing or of a team the key does not reach: 404.',
  })
  @ApiEnvelope(ScanDto, { isArray: true, failures: [404] })
  async list(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
  ): Promise<ScanDto[]> {
    return (
      await this.scans.listForApplication(parseId(applicationId, 'applicationId'), caller)
    ).map(toScanDto);
  }

  @Get(':scanId/file')
  @ApiOperation({ summary: "Download a scan's result file as uploaded" })
  @ApiSecurity('APIKEY')
  @ApiProduces('application/xml')
  async download(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('scanId') scanId: string,
  ): Promise<StreamableFile> {
    const { scan, stream } = await this.scans.openFile(
      parseId(applicationId, 'applicationId'),
      parseId(scanId, 'scanId'),
      caller,
    );
    return new StreamableFile(stream, {
      type: 'application/xml',
      length: Number(scan.sizeBytes),
      disposition: `attachment; filename="${scan.originalFilename.replace(/[^\w.-]+/g, '_')}"`,
    });
  }
}

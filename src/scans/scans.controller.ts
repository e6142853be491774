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

  @Get()
  @ApiOperation({ summary: "List an application's scans" })
  @ApiEnvelope(ScanDto, { isArray: true })
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

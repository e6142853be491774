/**
 * ThreadFix's scan calls that scanqueue's own routes do not already serve, one line per route:
 * direct upload, its pending-scan status, scan details, scan file download. (List scans is
 * scanqueue's GET /rest/applications/{id}/scans, whose items carry ThreadFix's fields too.)
 * Rules of the roles table (permission.ts ACCESS), after ThreadFix's RestMethod table
 * (docs/threadfix-compatibility.md).
 */
import { Controller, Get, Param, Query, Req, StreamableFile } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope, RestFailureDto } from '../rest/api-envelope.decorator';
import { RawResponse } from '../rest/envelope.interceptor';
import { parseId } from '../rest/rest-params';
import { RestPost } from '../rest/rest-post.decorator';
import { restSuccess, RestResponse } from '../rest/rest-response';
import { DirectUploadsService, NO_FILES_SELECTED, UPLOAD_STARTED } from './direct-uploads.service';
import { pendingScanHref } from './pending-scan-link';
import { ScanUploadForm } from './scan-upload-form';
import {
  DownloadScanParams,
  PendingScanJson,
  PendingScanLinkJson,
  ScanDetailsJson,
  ScanDetailsParams,
} from './threadfix-scan.dto';
import { ThreadFixScansService } from './threadfix-scans.service';

/** ThreadFix Pro's asynchronous upload answer: the envelope plus a link to the pending status. */
type UploadAnswer = RestResponse<string> & { links: PendingScanLinkJson[] };

/** RFC 6266: an ASCII fallback name and the exact one, percent-encoded (no header injection). */
function attachment(filename: string): string {
  const ascii = filename.replace(/[^\w.-]+/g, '_') || 'scan.xml';
  const exact = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16)}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

@ApiTags('scans (ThreadFix)')
@Controller('rest')
export class ThreadFixScansController {
  constructor(
    private readonly uploads: DirectUploadsService,
    private readonly scans: ThreadFixScansService,
    private readonly uploadForm: ScanUploadForm,
  ) {}

  @RestPost('applications/:applicationId/upload')
  @RequireAccess(ACCESS.scanUpload)
  @RawResponse()
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'string', format: 'binary' } },
    },
  })
  @ApiOperation({
    summary:
      'Upload a scan file directly (no agent): streamed, validated and imported as completeTask’s',
    description:
      'Answers `object: "Scan upload process started."` and a top-level `links[0].href`: the pending-scan status URL.',
  })
  @ApiSecurity('APIKEY')
  @ApiExtraModels(PendingScanLinkJson, RestFailureDto)
  @ApiResponse({
    status: 200,
    description: 'ThreadFix Pro’s asynchronous answer',
    schema: {
      type: 'object',
      required: ['message', 'success', 'responseCode', 'object', 'links'],
      properties: {
        message: { type: 'string', example: '' },
        success: { type: 'boolean', example: true },
        responseCode: { type: 'integer', example: -1 },
        object: { type: 'string', example: UPLOAD_STARTED },
        links: { type: 'array', items: { $ref: getSchemaPath(PendingScanLinkJson) } },
      },
    },
  })
  @ApiResponse({ status: 400, description: 'No files selected.', type: RestFailureDto })
  @ApiResponse({
    status: 401,
    description: 'Missing, unknown or revoked API key',
    type: RestFailureDto,
  })
  @ApiResponse({ status: 403, description: 'Permission missing', type: RestFailureDto })
  @ApiResponse({ status: 404, description: 'Invalid application ID.', type: RestFailureDto })
  @ApiResponse({ status: 413, description: 'File or form over its limit', type: RestFailureDto })
  @ApiResponse({ status: 422, description: 'Not a valid scan file', type: RestFailureDto })
  async upload(
    @Caller() caller: AuthenticatedCaller,
    @Req() request: FastifyRequest,
    @Param('applicationId') applicationId: string,
  ): Promise<UploadAnswer> {
    const appId = parseId(applicationId, 'applicationId');
    const release = await this.uploads.begin(caller, appId);
    let uploadId: number;
    try {
      // ThreadFix's optional `channelId` (the scanner) is not needed: the file says what it is.
      const form = { plain: {}, missingFile: NO_FILES_SELECTED };
      uploadId = await this.uploadForm.receive(request, form, (_params, scan) =>
        this.uploads.upload(caller, appId, scan),
      );
    } finally {
      release();
    }
    return {
      ...restSuccess(UPLOAD_STARTED),
      links: [{ method: 'GET', rel: 'related', href: pendingScanHref(request, appId, uploadId) }],
    };
  }

  @Get('applications/:applicationId/pendingScan/:pendingScanId/status')
  @RequireAccess(ACCESS.pendingScan)
  @RawResponse()
  @ApiOperation({
    summary: 'Where a direct upload’s import is (QUEUED … DONE with scanId, or SCAN_INTERRUPTED)',
    description: '`message` is the status text (ThreadFix Pro’s scanMessage).',
  })
  @ApiEnvelope(PendingScanJson, { failures: [404] })
  async pendingScanStatus(
    @Caller() caller: AuthenticatedCaller,
    @Param('applicationId') applicationId: string,
    @Param('pendingScanId') pendingScanId: string,
  ): Promise<RestResponse<PendingScanJson>> {
    const { message, status } = await this.uploads.pendingStatus(
      caller,
      parseId(applicationId, 'applicationId'),
      parseId(pendingScanId, 'pendingScanId'),
    );
    return { ...restSuccess(status), message };
  }

  @Get('scans/:scanId')
  @RequireAccess(ACCESS.scanRead)
  @ApiOperation({ summary: 'A scan’s statistics and one page of its findings (page, pageSize)' })
  @ApiEnvelope(ScanDetailsJson, { failures: [404] })
  details(
    @Caller() caller: AuthenticatedCaller,
    @Param('scanId') scanId: string,
    @Query() params: ScanDetailsParams,
  ): Promise<ScanDetailsJson> {
    return this.scans.details(caller, parseId(scanId, 'scanId'), params.page, params.pageSize);
  }

  @Get('scans/:scanId/download')
  @RequireAccess(ACCESS.scanDownload)
  @ApiOperation({
    summary: 'A scan’s file as uploaded (raw bytes; failures are JSON envelopes)',
    description: '`scanFileName`, when given, must be the original file name exactly.',
  })
  @ApiSecurity('APIKEY')
  @ApiProduces('application/xml')
  @ApiResponse({ status: 200, description: 'The file' })
  @ApiResponse({ status: 404, description: 'No such scan or file name', type: RestFailureDto })
  async download(
    @Caller() caller: AuthenticatedCaller,
    @Param('scanId') scanId: string,
    @Query() params: DownloadScanParams,
  ): Promise<StreamableFile> {
    const file = await this.scans.openFile(caller, parseId(scanId, 'scanId'), params.scanFileName);
    return new StreamableFile(file.stream, {
      type: 'application/xml',
      length: file.sizeBytes,
      disposition: attachment(file.filename),
    });
  }
}

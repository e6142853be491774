/**
 * Wire shapes of ThreadFix's scan calls: scan details with findings (their statistics are the
 * ScanStatJson an Application carries), the pending-scan status of a direct upload, and their
 * parameters.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { ToInt } from '../rest/param-rules';
import { ScanStatJson } from '../applications/threadfix-application.dto';
import { OptionalNotNull } from '../teams/custom-names';

export const MAX_FINDINGS_PAGE_SIZE = 10_000;

export class ScanDetailsParams {
  @ApiPropertyOptional({ default: 1, minimum: 1, description: 'page of the findings' })
  @ToInt()
  @OptionalNotNull()
  @IsInt({ message: 'page must be an integer.' })
  @Min(1, { message: 'page must be at least 1.' })
  @Max(1_000_000, { message: 'page must be at most 1000000.' })
  page?: number;

  @ApiPropertyOptional({
    default: MAX_FINDINGS_PAGE_SIZE,
    minimum: 1,
    maximum: MAX_FINDINGS_PAGE_SIZE,
  })
  @ToInt()
  @OptionalNotNull()
  @IsInt({ message: 'pageSize must be an integer.' })
  @Min(1, { message: 'pageSize must be at least 1.' })
  @Max(MAX_FINDINGS_PAGE_SIZE, {
    message: `pageSize cannot be greater than ${MAX_FINDINGS_PAGE_SIZE}.`,
  })
  pageSize?: number;
}

export class DownloadScanParams {
  @ApiPropertyOptional({
    description: "the scan's original file name (exact); omitted = its one file",
    example: 'zap-report.xml',
  })
  @OptionalNotNull()
  @IsString({ message: 'scanFileName must be one string.' })
  @MaxLength(10_000)
  scanFileName?: string;
}

export class SurfaceLocationJson {
  @ApiProperty() id!: number;
  @ApiProperty({ nullable: true, type: String }) parameter!: string | null;
  @ApiProperty({ nullable: true, type: String }) path!: string | null;
}

/** ThreadFix's Finding (RestViewScan2_1), from a normalized finding (src/imports). */
export class ThreadFixFindingJson {
  @ApiProperty() id!: number;
  @ApiProperty({ description: "scanqueue's fingerprint of the finding" }) nativeId!: string;
  @ApiProperty({ description: "the scanner's rule / plugin id" }) displayId!: string;
  @ApiProperty({ example: 'X-Frame-Options Header Not Set' }) vulnerabilityType!: string;
  @ApiProperty({ enum: ['Critical', 'High', 'Medium', 'Low', 'Info'] }) severity!: string;
  @ApiProperty({ nullable: true, type: String }) longDescription!: null;
  @ApiProperty({ nullable: true, type: String, description: 'the evidence' })
  attackString!: string | null;
  @ApiProperty({ nullable: true, type: String }) attackRequest!: null;
  @ApiProperty({ nullable: true, type: String }) attackResponse!: null;
  @ApiProperty({ nullable: true, type: String }) calculatedUrlPath!: string | null;
  @ApiProperty({ nullable: true, type: String }) calculatedFilePath!: null;
  @ApiProperty({ nullable: true, type: String }) sourceFileLocation!: null;
  @ApiProperty({ type: SurfaceLocationJson }) surfaceLocation!: SurfaceLocationJson;
  @ApiProperty({ type: [Object], description: 'always [] (dynamic scanners)' })
  dataFlowElements!: never[];
  @ApiProperty({ nullable: true, type: Object }) dependency!: null;
  @ApiProperty({ nullable: true, type: Number, description: 'scanqueue: CWE id' })
  cwe!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'scanqueue: the full URL' })
  url!: string | null;
}

export class ScanDetailsJson extends ScanStatJson {
  @ApiProperty({ type: [ThreadFixFindingJson], description: 'one page (page, pageSize)' })
  findings!: ThreadFixFindingJson[];
}

export class PendingScanFileJson {
  @ApiProperty() id!: number;
  @ApiProperty() originalName!: string;
}

/** ThreadFix Pro's pending-scan status of a direct upload, from its import run. */
export class PendingScanJson {
  @ApiProperty({ description: 'the pending-scan (upload) id' }) id!: number;
  @ApiProperty({ description: 'epoch ms of its latest history step' }) modifiedDate!: number;
  @ApiProperty({ example: true }) active!: boolean;
  @ApiProperty({ type: [PendingScanFileJson] }) fileDataList!: PendingScanFileJson[];
  @ApiProperty() appId!: number;
  @ApiProperty({ nullable: true, type: String }) errorMessage!: string | null;
  @ApiProperty({
    enum: ['QUEUED', 'FINDINGS_GENERATING', 'APPLICATION_MERGING', 'DONE', 'SCAN_INTERRUPTED'],
  })
  status!: string;
  @ApiProperty() error!: boolean;
  @ApiPropertyOptional({ description: 'the scan, once DONE' }) scanId?: number;
  @ApiProperty({ example: 'upload' }) type!: string;
  @ApiProperty({ description: 'the uploaded file name' }) name!: string;
  @ApiProperty({ description: 'epoch ms of the upload' }) time!: number;
  @ApiProperty({ example: 'Scan Processing Completed. Statistics Update Queued.' })
  scanMessage!: string;
}

export class PendingScanLinkJson {
  @ApiProperty({ example: 'GET' }) method!: string;
  @ApiProperty({ example: 'related' }) rel!: string;
  @ApiProperty({
    example: 'http://scanqueue:8080/threadfix/rest/v2.8.3/applications/12/pendingScan/34/status',
  })
  href!: string;
}

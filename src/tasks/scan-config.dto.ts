/** An application's scan config as the admin route lists it: what it is, never its content. */
import { ApiProperty } from '@nestjs/swagger';
import { resolveScanner } from '../scans/scanner-types';
import { ScanConfigListRow } from './task-rows';

export class ScanConfigDto {
  @ApiProperty({ description: 'the scanConfigId queueScan takes' }) id!: number;
  @ApiProperty() applicationId!: number;
  @ApiProperty({ example: 'zap' }) scannerShortName!: string;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) scanner!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "the uploaded file's name (null for configs set before scanqueue kept it)",
  })
  originalFilename!: string | null;
  @ApiProperty({ example: 'application/octet-stream' }) contentType!: string;
  @ApiProperty() sizeBytes!: number;
  @ApiProperty({ description: 'hex SHA-256 of the content' }) sha256!: string;
  @ApiProperty({ description: 'epoch ms: the first upload for this scanner' }) createdTime!: number;
  @ApiProperty({ description: 'epoch ms: the latest upload (setTaskConfig replaces the content)' })
  updatedTime!: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'the API key that uploaded the current content (null for configs set before)',
  })
  uploadedByApiKeyId!: number | null;
}

export function toScanConfigDto(row: ScanConfigListRow): ScanConfigDto {
  return {
    id: row.id,
    applicationId: row.application_id,
    scannerShortName: row.scanner_short_name,
    scanner: resolveScanner(row.scanner_short_name)?.displayName ?? row.scanner_short_name,
    originalFilename: row.original_filename,
    contentType: row.content_type,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    createdTime: row.created_at.getTime(),
    updatedTime: row.uploaded_at.getTime(),
    uploadedByApiKeyId: row.uploaded_by_api_key_id,
  };
}

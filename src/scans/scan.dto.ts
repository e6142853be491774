/** scanqueue's scan JSON, which also carries ThreadFix's ScanSummary fields (no name collides). */
import { ApiProperty } from '@nestjs/swagger';
import { resolveScanner } from './scanner-types';
import { ScanEntity } from './scan.entity';

export class ScanDto {
  @ApiProperty() id!: number;
  @ApiProperty() applicationId!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'the task whose completeTask stored it; null for a direct upload',
  })
  taskId!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: "the direct upload (pending scan) that stored it; null for a task's scan",
  })
  uploadId!: number | null;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) scanner!: string;
  @ApiProperty({ example: 'zap' }) scannerShortName!: string | null;
  @ApiProperty() originalFilename!: string;
  @ApiProperty() sizeBytes!: number;
  @ApiProperty() sha256!: string;
  @ApiProperty({ description: 'epoch ms' }) storedTime!: number;
  // ThreadFix's ScanSummary (list scans), so that its clients read this list too.
  @ApiProperty({ description: 'ThreadFix: epoch ms (= storedTime)' }) importTime!: number;
  @ApiProperty({ description: 'ThreadFix: the display name (= scanner)' }) scannerName!: string;
  @ApiProperty({ description: 'ThreadFix Pro: epoch ms (= storedTime)' }) updatedDate!: number;
  @ApiProperty({ nullable: true, type: String, description: 'ThreadFix Pro: always null' })
  buildId!: null;
}

export function toScanDto(scan: ScanEntity): ScanDto {
  return {
    id: scan.id,
    applicationId: scan.applicationId,
    taskId: scan.taskId,
    uploadId: scan.uploadId,
    scanner: scan.scanner,
    scannerShortName: resolveScanner(scan.scanner)?.shortName ?? null,
    originalFilename: scan.originalFilename,
    sizeBytes: Number(scan.sizeBytes),
    sha256: scan.sha256,
    storedTime: scan.storedAt.getTime(),
    importTime: scan.storedAt.getTime(),
    scannerName: scan.scanner,
    updatedDate: scan.storedAt.getTime(),
    buildId: null,
  };
}

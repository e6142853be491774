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
    description: 'the direct upload (pending scan) that stored it; null for a task\'s scan',
  })
  uploadId!: number | null;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) scanner!: string;
  @ApiProperty({ example: 'zap' }) scannerShortName!: string | null;
  @ApiProperty() originalFilename!: string;
  @ApiProperty() sizeBytes!: number;
  @ApiProperty() sha256!: string;
  @ApiProperty({ description: 'epoch ms' }) storedTime!: number;
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
  };
}

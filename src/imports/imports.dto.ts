/** Wire shapes of the imports API: query parameters, responses, and the mappers that build them. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { EmptyAsMissing, ToInt } from '../rest/param-rules';
import { SEVERITIES, Severity } from '../scans/formats';
import { IMPORT_PHASES, ImportPhase } from '../scans/import-phase';
import { VULNERABILITY_STATUSES, VulnerabilityStatus } from './vulnerability.entity';
import type {
  FindingRow,
  ScanImportRow,
  SeverityCounts,
  VulnerabilityRow,
} from './vulnerabilities.repository';

export const MAX_PAGE_SIZE = 500;
const epochMs = (date: Date | null): number | null => (date ? date.getTime() : null);

export class PageParams {
  @ApiPropertyOptional({ default: 1, minimum: 1 })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'page must be an integer.' })
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: MAX_PAGE_SIZE })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'pageSize must be an integer.' })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  pageSize?: number;
}

export class ListVulnerabilitiesParams extends PageParams {
  @ApiPropertyOptional({ enum: SEVERITIES })
  @EmptyAsMissing()
  @IsOptional()
  @IsIn(SEVERITIES, { message: `severity must be one of: ${SEVERITIES.join(', ')}.` })
  severity?: Severity;

  @ApiPropertyOptional({ description: 'short name (zap), display name or a ThreadFix alias' })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  scanner?: string;

  @ApiPropertyOptional({ enum: VULNERABILITY_STATUSES })
  @EmptyAsMissing()
  @IsOptional()
  @IsIn(VULNERABILITY_STATUSES, {
    message: `status must be one of: ${VULNERABILITY_STATUSES.join(', ')}.`,
  })
  status?: VulnerabilityStatus;

  @ApiPropertyOptional({ description: 'CWE id, e.g. 79' })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'cwe must be an integer.' })
  @Min(1)
  @Max(100_000)
  cwe?: number;
}

export class SeverityCountsDto implements SeverityCounts {
  @ApiProperty() critical!: number;
  @ApiProperty() high!: number;
  @ApiProperty() medium!: number;
  @ApiProperty() low!: number;
  @ApiProperty() info!: number;
}

/** What a finding says, as a scan reported it and as its vulnerability last saw it. */
export class FindingFieldsDto {
  @ApiProperty({ description: "the scanner's rule / plugin id", example: '10020' }) ruleId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: SEVERITIES }) severity!: Severity;
  @ApiProperty({ type: Number, nullable: true }) cwe!: number | null;
  @ApiProperty({ type: String, nullable: true }) url!: string | null;
  @ApiProperty({ type: String, nullable: true }) path!: string | null;
  @ApiProperty({ type: String, nullable: true }) parameter!: string | null;
  @ApiProperty({ type: String, nullable: true }) evidence!: string | null;
}

export class VulnerabilityDto extends FindingFieldsDto {
  @ApiProperty() id!: number;
  @ApiProperty() applicationId!: number;
  @ApiProperty({ example: 'zap' }) scanner!: string;
  @ApiProperty({ description: 'stable across scans of the scanner (hex SHA-256)' })
  fingerprint!: string;
  @ApiProperty({ enum: VULNERABILITY_STATUSES }) status!: VulnerabilityStatus;
  @ApiProperty() firstSeenScanId!: number;
  @ApiProperty({ description: "epoch ms (the scan's time)" }) firstSeenTime!: number;
  @ApiProperty() lastSeenScanId!: number;
  @ApiProperty({ description: 'epoch ms' }) lastSeenTime!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'the first scan it was absent from' })
  fixedScanId!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'epoch ms' }) fixedTime!: number | null;
  @ApiProperty() reopenedCount!: number;
}

export class VulnerabilityPageDto {
  @ApiProperty() total!: number;
  @ApiProperty() page!: number;
  @ApiProperty() pageSize!: number;
  @ApiProperty({
    type: SeverityCountsDto,
    description: 'under the same filters except severity',
  })
  countsBySeverity!: SeverityCountsDto;
  @ApiProperty({ type: [VulnerabilityDto] }) vulnerabilities!: VulnerabilityDto[];
}

export class FindingDto extends FindingFieldsDto {
  @ApiProperty() id!: number;
  @ApiProperty() scanId!: number;
  @ApiProperty({ example: 'zap' }) scanner!: string;
  @ApiProperty() fingerprint!: string;
}

export class FindingPageDto {
  @ApiProperty() total!: number;
  @ApiProperty() page!: number;
  @ApiProperty() pageSize!: number;
  @ApiProperty({ type: [FindingDto] }) findings!: FindingDto[];
}

export class ScanImportDto {
  @ApiProperty() id!: number;
  @ApiProperty() scanId!: number;
  @ApiProperty() applicationId!: number;
  @ApiProperty({ example: 'zap' }) scanner!: string;
  @ApiProperty({ enum: IMPORT_PHASES }) phase!: ImportPhase;
  @ApiProperty({ description: 'times it was claimed (more than 1 after a restart)' })
  attempts!: number;
  @ApiProperty({ description: 'finding rows in the report' }) findings!: number;
  @ApiProperty({ description: 'vulnerabilities seen for the first time' }) new!: number;
  @ApiProperty() stillPresent!: number;
  @ApiProperty() reopened!: number;
  @ApiProperty({ description: 'open vulnerabilities this scan no longer reports' }) fixed!: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'the identical scan this one repeats (nothing was merged)',
  })
  duplicateOfScanId!: number | null;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ description: 'epoch ms' }) queuedTime!: number;
  @ApiProperty({ type: Number, nullable: true }) startedTime!: number | null;
  @ApiProperty({ type: Number, nullable: true }) finishedTime!: number | null;
}

export function toVulnerabilityDto(row: VulnerabilityRow): VulnerabilityDto {
  return {
    id: row.id,
    applicationId: row.application_id,
    scanner: row.scanner,
    fingerprint: row.fingerprint,
    status: row.status,
    ruleId: row.rule_id,
    name: row.name,
    severity: row.severity,
    cwe: row.cwe,
    url: row.url,
    path: row.path,
    parameter: row.parameter,
    evidence: row.evidence,
    firstSeenScanId: row.first_seen_scan_id,
    firstSeenTime: row.first_seen_at.getTime(),
    lastSeenScanId: row.last_seen_scan_id,
    lastSeenTime: row.last_seen_at.getTime(),
    fixedScanId: row.fixed_scan_id,
    fixedTime: epochMs(row.fixed_at),
    reopenedCount: row.reopened_count,
  };
}

export function toFindingDto(row: FindingRow): FindingDto {
  return {
    id: Number(row.id),
    scanId: row.scan_id,
    scanner: row.scanner,
    ruleId: row.rule_id,
    name: row.name,
    severity: row.severity,
    cwe: row.cwe,
    url: row.url,
    path: row.path,
    parameter: row.parameter,
    evidence: row.evidence,
    fingerprint: row.fingerprint,
  };
}

export function toScanImportDto(row: ScanImportRow): ScanImportDto {
  return {
    id: row.id,
    scanId: row.scan_id,
    applicationId: row.application_id,
    scanner: row.scanner,
    phase: row.phase,
    attempts: row.attempts,
    findings: row.findings_count,
    new: row.new_count,
    stillPresent: row.still_present_count,
    reopened: row.reopened_count,
    fixed: row.fixed_count,
    duplicateOfScanId: row.duplicate_of_scan_id,
    error: row.error,
    queuedTime: row.queued_at.getTime(),
    startedTime: epochMs(row.started_at),
    finishedTime: epochMs(row.finished_at),
  };
}

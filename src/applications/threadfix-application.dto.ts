/**
 * Wire shapes of ThreadFix's application calls: their parameters (the vendor client sends every
 * scalar in the query string, even on POST and PUT) and the Application JSON, which is a superset
 * of scanqueue's own ApplicationDto (GET /rest/applications/{id} serves both; no field collides).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { OptionalNotNull } from '../teams/custom-names';
import { CriticalityJson, VulnCountsJson } from '../teams/team.dto';

/** Longer than anything a rule accepts: bounds what a refused call carries around. */
const MAX_PARAM = 10_000;
const oneString = (name: string) => ({ message: `${name} must be one string.` });

export class CreateTeamApplicationParams {
  @ApiPropertyOptional({ example: 'App 1', description: 'at most 60 characters, no HTML' })
  @OptionalNotNull()
  @IsString(oneString('name'))
  @MaxLength(MAX_PARAM)
  name?: string;

  @ApiPropertyOptional({ example: 'http://app1.example/', maxLength: 255 })
  @OptionalNotNull()
  @IsString(oneString('url'))
  @MaxLength(MAX_PARAM)
  url?: string;

  @ApiPropertyOptional({ maxLength: 10000 })
  @OptionalNotNull()
  @IsString(oneString('description'))
  @MaxLength(10_000, { message: 'description must be at most 10000 characters.' })
  description?: string;
}

export class ApplicationLookupParams {
  @ApiPropertyOptional({ description: 'the exact name (or uniqueId)' })
  @OptionalNotNull()
  @IsString(oneString('name'))
  @MaxLength(MAX_PARAM)
  name?: string;

  @ApiPropertyOptional({ description: 'takes precedence over name, as in ThreadFix' })
  @OptionalNotNull()
  @IsString(oneString('uniqueId'))
  @MaxLength(MAX_PARAM)
  uniqueId?: string;
}

/**
 * ThreadFix's updateApplication parameters. Kept: name, url, uniqueId, applicationCriticality,
 * team, description. Refused: repositoryUserName and repositoryPassword (no credential is stored).
 * Accepted and ignored (scanqueue has no repositories, filter sets or merge settings):
 * frameworkType, repositoryUrl, repositoryType, repositoryBranch, repositoryFolder, filterSet,
 * skipApplicationMerge.
 */
export class UpdateThreadFixApplicationParams {
  @ApiPropertyOptional()
  @OptionalNotNull()
  @IsString(oneString('name'))
  @MaxLength(MAX_PARAM)
  name?: string;
  @ApiPropertyOptional({ description: "'' clears it" })
  @OptionalNotNull()
  @IsString(oneString('url'))
  @MaxLength(MAX_PARAM)
  url?: string;
  @ApiPropertyOptional({ description: "'' clears it" })
  @OptionalNotNull()
  @IsString(oneString('uniqueId'))
  @MaxLength(MAX_PARAM)
  uniqueId?: string;
  @ApiPropertyOptional({ description: '1 Low, 2 Medium, 3 High, 4 Critical' })
  @OptionalNotNull()
  @IsString(oneString('applicationCriticality'))
  @MaxLength(MAX_PARAM)
  applicationCriticality?: string;
  @ApiPropertyOptional({ description: 'a team id: moves the application there' })
  @OptionalNotNull()
  @IsString(oneString('team'))
  @MaxLength(MAX_PARAM)
  team?: string;
  @ApiPropertyOptional({ description: "'' clears it" })
  @OptionalNotNull()
  @IsString(oneString('description'))
  @MaxLength(MAX_PARAM)
  description?: string;
  @ApiPropertyOptional({ description: 'refused: scanqueue stores no repository credentials' })
  @OptionalNotNull()
  @IsString(oneString('repositoryUserName'))
  @MaxLength(MAX_PARAM)
  repositoryUserName?: string;
  @ApiPropertyOptional({ description: 'refused: scanqueue stores no repository credentials' })
  @OptionalNotNull()
  @IsString(oneString('repositoryPassword'))
  @MaxLength(MAX_PARAM)
  repositoryPassword?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  frameworkType?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  repositoryUrl?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  repositoryType?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  repositoryBranch?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  repositoryFolder?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  filterSet?: string;
  @ApiPropertyOptional({ description: 'ignored' })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAX_PARAM)
  skipApplicationMerge?: string;
}

export const UPDATE_PARAMETERS = [
  'name',
  'url',
  'uniqueId',
  'applicationCriticality',
  'frameworkType',
  'repositoryUrl',
  'repositoryType',
  'repositoryBranch',
  'repositoryUserName',
  'repositoryPassword',
  'repositoryFolder',
  'filterSet',
  'team',
  'skipApplicationMerge',
  'description',
] as const satisfies readonly (keyof UpdateThreadFixApplicationParams)[];

export class IdNameJson {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
}

/** ThreadFix's Scan statistics (RestView2_1 of Scan): per scan, from its import run. */
export class ScanStatJson {
  @ApiProperty() id!: number;
  @ApiProperty({ description: 'epoch ms: when the scan was stored' }) importTime!: number;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) scannerName!: string;
  @ApiProperty({ description: 'vulnerabilities this scan fixed' })
  numberClosedVulnerabilities!: number;
  @ApiProperty() numberNewVulnerabilities!: number;
  @ApiProperty({ description: 'seen before and still present' })
  numberOldVulnerabilities!: number;
  @ApiProperty({ description: 'reopened' }) numberResurfacedVulnerabilities!: number;
  @ApiProperty({ description: 'distinct vulnerabilities in the scan' })
  numberTotalVulnerabilities!: number;
  @ApiProperty({ description: 'vulnerabilities seen before (old + resurfaced)' })
  numberRepeatFindings!: number;
  @ApiProperty({ description: 'findings that repeat another finding of the same scan' })
  numberRepeatResults!: number;
  @ApiProperty() numberInfoVulnerabilities!: number;
  @ApiProperty() numberLowVulnerabilities!: number;
  @ApiProperty() numberMediumVulnerabilities!: number;
  @ApiProperty() numberHighVulnerabilities!: number;
  @ApiProperty() numberCriticalVulnerabilities!: number;
}

/**
 * One application as GET /rest/applications/{id}, the lookup and the create-in-team answer it:
 * scanqueue's ApplicationDto fields, then ThreadFix's RestViewApplication2_1 fields.
 */
export class ThreadFixApplicationJson extends VulnCountsJson {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) url!: string | null;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() active!: boolean;
  @ApiProperty() teamId!: number;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({ description: 'epoch ms' }) modifiedTime!: number;
  @ApiProperty({ nullable: true, type: String }) uniqueId!: string | null;
  @ApiProperty({ type: CriticalityJson }) applicationCriticality!: CriticalityJson;
  @ApiProperty({ type: IdNameJson, description: 'ThreadFix’s name for the team' })
  organization!: IdNameJson;
  @ApiProperty({ nullable: true, type: Object, description: 'always null (no WAF integration)' })
  waf!: null;
  @ApiProperty({ nullable: true, type: Object, description: 'always null' })
  grcApplication!: null;
  @ApiProperty({ type: [ScanStatJson], description: 'newest first ([] when none)' })
  scans!: ScanStatJson[];
}

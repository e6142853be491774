/**
 * Wire shapes of ThreadFix's team calls: their parameters (query, form or JSON; the vendor client
 * sends every scalar in the query string) and the Team JSON (ThreadFix's RestViewTeam2_1 and, for
 * the list, RestViewTeams2_1, without the per-application secrets that view leaked).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { ToInt } from '../rest/param-rules';
import { OptionalNotNull } from './custom-names';

/** Longer than any name a rule below accepts: bounds what a refused call carries around. */
const MAX_NAME_PARAM = 10_000;

export class TeamNameParams {
  @ApiPropertyOptional({ example: 'Team A', description: 'at most 59 characters, no HTML' })
  @OptionalNotNull()
  @IsString({ message: 'name must be one string.' })
  @MaxLength(MAX_NAME_PARAM)
  name?: string;
}

export const MAX_TEAMS_PAGE_SIZE = 10_000;

export class ListTeamsParams {
  @ApiPropertyOptional({ default: 1, minimum: 1 })
  @ToInt()
  @OptionalNotNull()
  @IsInt({ message: 'page must be an integer.' })
  @Min(1, { message: 'page must be at least 1.' })
  @Max(1_000_000, { message: 'page must be at most 1000000.' })
  page?: number;

  @ApiPropertyOptional({ default: MAX_TEAMS_PAGE_SIZE, minimum: 1, maximum: MAX_TEAMS_PAGE_SIZE })
  @ToInt()
  @OptionalNotNull()
  @IsInt({ message: 'pageSize must be an integer.' })
  @Min(1, { message: 'pageSize must be at least 1.' })
  @Max(MAX_TEAMS_PAGE_SIZE, { message: `pageSize must be at most ${MAX_TEAMS_PAGE_SIZE}.` })
  pageSize?: number;
}

export class CriticalityJson {
  @ApiProperty({ example: 1 }) id!: number;
  @ApiProperty({ example: 'Low', enum: ['Low', 'Medium', 'High', 'Critical'] }) name!: string;
}

/** ThreadFix's severity counts of open vulnerabilities (a team's: the sum of its applications'). */
export class VulnCountsJson {
  @ApiProperty() infoVulnCount!: number;
  @ApiProperty() lowVulnCount!: number;
  @ApiProperty() mediumVulnCount!: number;
  @ApiProperty() highVulnCount!: number;
  @ApiProperty() criticalVulnCount!: number;
  @ApiProperty() totalVulnCount!: number;
}

export class TeamApplicationJson {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) url!: string | null;
  @ApiProperty({ type: CriticalityJson }) applicationCriticality!: CriticalityJson;
  @ApiProperty({ nullable: true, type: Object, description: 'always null (no GRC integration)' })
  grcApplication!: null;
}

export class TeamListApplicationJson extends TeamApplicationJson {
  @ApiProperty({ nullable: true, type: String }) uniqueId!: string | null;
  @ApiProperty({ example: true }) active!: boolean;
}

export class TeamJson extends VulnCountsJson {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({
    type: [TeamApplicationJson],
    description: 'its active applications by name ([] when none; ThreadFix sent null)',
  })
  applications!: TeamApplicationJson[];
}

export class TeamListItemJson extends VulnCountsJson {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ example: true }) active!: boolean;
  @ApiProperty({ type: [TeamListApplicationJson] })
  applications!: TeamListApplicationJson[];
}

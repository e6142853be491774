import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { EmptyAsMissing, HTTP_URL_RULES, IsRequired, ToBoolean, ToInt } from '../rest/param-rules';
import { ApplicationEntity } from './application.entity';

export class CreateApplicationDto {
  @ApiProperty({ example: 'Bodgeit store', maxLength: 255 })
  @IsRequired('name')
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  name!: string;

  @ApiPropertyOptional({ example: 'http://bodgeit.example:8080/bodgeit', maxLength: 255 })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @IsUrl(HTTP_URL_RULES, { message: 'url must be an http or https URL.' })
  url?: string;

  @ApiPropertyOptional({ maxLength: 10000 })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string;

  @ApiPropertyOptional({ description: 'The team it belongs to; omitted = the default team' })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'teamId must be a team id (an integer).' })
  @Min(1, { message: 'teamId must be a team id (an integer).' })
  teamId?: number;
}

/**
 * Every field optional; `url` and `description` may be cleared with null, `name` may not (it is
 * NOT NULL: PartialType's @IsOptional would let a null through to the database as a 500).
 */
export class UpdateApplicationDto extends PartialType(
  OmitType(CreateApplicationDto, ['name', 'teamId'] as const),
) {
  @ApiPropertyOptional({ example: 'Bodgeit store', maxLength: 255 })
  @ValidateIf((_: unknown, value: unknown) => value !== undefined)
  @IsString({ message: 'name must be a string.' })
  @MinLength(1)
  @MaxLength(255)
  name?: string;
}

export class ListApplicationsDto {
  @ApiPropertyOptional({ description: 'Include deactivated applications', default: false })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  includeInactive?: boolean;
}

export class ApplicationDto {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) url!: string | null;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty() active!: boolean;
  @ApiProperty() teamId!: number;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({ description: 'epoch ms' }) modifiedTime!: number;
}

export function toApplicationDto(app: ApplicationEntity): ApplicationDto {
  return {
    id: app.id,
    name: app.name,
    url: app.url,
    description: app.description,
    active: app.active,
    teamId: app.teamId,
    createdTime: app.createdAt.getTime(),
    modifiedTime: app.updatedAt.getTime(),
  };
}

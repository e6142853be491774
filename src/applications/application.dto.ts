import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, IsUrl, MaxLength, MinLength } from 'class-validator';
import { EmptyAsMissing, IsRequired, ToBoolean } from '../rest/param-rules';
import { ApplicationEntity } from './application.entity';

const URL_RULES = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };

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
  @IsUrl(URL_RULES, { message: 'url must be an http or https URL.' })
  url?: string;

  @ApiPropertyOptional({ maxLength: 10000 })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  description?: string;
}

export class UpdateApplicationDto extends PartialType(CreateApplicationDto) {}

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
    createdTime: app.createdAt.getTime(),
    modifiedTime: app.updatedAt.getTime(),
  };
}

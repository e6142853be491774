import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsBoolean,
  IsEnum,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { CommaSeparatedList, IsRequired, ToBoolean } from '../rest/param-rules';
import { ApiKeyEntity } from './api-key.entity';
import { Permission } from './permission';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'zap-agent-1', maxLength: 100 })
  @IsRequired('name')
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ enum: Permission, isArray: true, example: [Permission.CAN_MANAGE_SCAN_AGENTS] })
  // A form sends one value, a comma-separated list or repeated values; JSON sends an array.
  @CommaSeparatedList()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',').map((p) => p.trim()) : value,
  )
  @IsRequired('permissions')
  @IsArray()
  @ArrayMinSize(1)
  @IsEnum(Permission, {
    each: true,
    message: `permissions must be among: ${Object.values(Permission).join(', ')}`,
  })
  permissions!: Permission[];

  @ApiPropertyOptional({
    default: false,
    description: "ThreadFix's restricted key: refused on restricted operations",
  })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  restricted?: boolean;

  @ApiPropertyOptional({
    type: Number,
    isArray: true,
    description:
      "Limits the key to these teams' applications (and their tasks, scans and findings); omitted = every team",
  })
  // A form sends one value or a comma-separated list; JSON sends an array.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string'
      ? value.split(',').map((id) => (/^\s*\d{1,9}\s*$/.test(id) ? Number(id) : id))
      : value,
  )
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsInt({ each: true, message: 'teamIds must be team ids (integers).' })
  @Min(1, { each: true, message: 'teamIds must be team ids (integers).' })
  teamIds?: number[];
}

export class ApiKeyDto {
  @ApiProperty() id!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: Permission, isArray: true }) permissions!: Permission[];
  @ApiProperty() restricted!: boolean;
  @ApiProperty({
    type: Number,
    isArray: true,
    nullable: true,
    description: 'The teams the key is limited to; null = every team',
  })
  teamIds!: number[] | null;
  @ApiProperty() active!: boolean;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) lastUsedTime!:
    number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) revokedTime!:
    number | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The key itself. Shown only in this response; store it now.' })
  apiKey!: string;
}

export function toApiKeyDto(key: ApiKeyEntity): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    permissions: key.permissions,
    restricted: key.restricted,
    teamIds: key.teamIds,
    active: key.revokedAt === null,
    createdTime: key.createdAt.getTime(),
    lastUsedTime: key.lastUsedAt?.getTime() ?? null,
    revokedTime: key.revokedAt?.getTime() ?? null,
  };
}

/**
 * A schedule's parameters (JSON, a form or the query string, as every REST call here) and its JSON.
 * ThreadFix's timing fields are only typed here: their messages and order are ThreadFix's
 * (schedule-timing.ts threadFixTiming).
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EmptyAsMissing, HTTP_URL_RULES, IsRequired, ToBoolean, ToInt } from '../rest/param-rules';
import { RunOutcome, WhenPending } from './scheduled-scan.entity';
import {
  PriorityField,
  RetryBackoffField,
  RetryDelayField,
  RetryLimitField,
} from '../tasks/task-policy-fields';

const MAX_ID = 2147483647;

const SCANNER_DOC = 'short name (zap), display name or a ThreadFix alias; stored as the short name';

/** Everything but the scanner, which a create requires and an update may leave out. */
class ScheduleFieldsParams {
  @ApiPropertyOptional({
    example: '0 2 * * *',
    description:
      'cron: 5 fields, or 6 with seconds first (croner syntax: ranges, steps, names, L, W, #); instead of frequency/hour/minute/period/day',
  })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(120)
  cronExpression?: string;

  @ApiPropertyOptional({
    example: 'Europe/Berlin',
    description:
      "IANA time zone of the due times; default SCHEDULE_DEFAULT_TIMEZONE, else the server's zone at creation (always stored and shown)",
  })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  timezone?: string;

  @ApiPropertyOptional({ enum: ['Daily', 'Weekly'], description: "ThreadFix's frequency" })
  @EmptyAsMissing()
  @IsOptional()
  frequency?: unknown;

  @ApiPropertyOptional({ description: 'ThreadFix: 0–12 (12 AM is midnight, 12 PM noon; 0 is 12)' })
  @ToInt()
  @IsOptional()
  hour?: unknown;

  @ApiPropertyOptional({ description: 'ThreadFix: 0–59' })
  @ToInt()
  @IsOptional()
  minute?: unknown;

  @ApiPropertyOptional({ enum: ['AM', 'PM'] })
  @EmptyAsMissing()
  @IsOptional()
  period?: unknown;

  @ApiPropertyOptional({ example: 'Monday', description: 'Weekly: the full English day name' })
  @EmptyAsMissing()
  @IsOptional()
  day?: unknown;

  @ApiPropertyOptional({ description: "the tasks' target; default: the application's URL" })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @IsUrl(HTTP_URL_RULES, { message: 'targetUrl must be an http or https URL.' })
  targetUrl?: string;

  @ApiPropertyOptional({ description: "one of the application's scan configs for the scanner" })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'scanConfigId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  scanConfigId?: number;

  @ApiPropertyOptional({ default: true })
  @ToBoolean()
  @IsOptional()
  @IsBoolean({ message: 'enabled must be true or false.' })
  enabled?: boolean;

  @ApiPropertyOptional({
    enum: ['skip', 'queue'],
    default: 'skip',
    description: "when this schedule's previous task is still QUEUED or ASSIGNED",
  })
  @EmptyAsMissing()
  @IsOptional()
  @IsIn(['skip', 'queue'], { message: 'whenPending must be skip or queue.' })
  whenPending?: WhenPending;

  @PriorityField("the tasks' priority")
  priority?: number;

  @RetryLimitField("the tasks' retry attempts")
  retryLimit?: number;

  @RetryDelayField("seconds before the tasks' first retry")
  retryDelaySeconds?: number;

  @RetryBackoffField("true: the tasks' retry delay doubles with each attempt")
  retryBackoff?: boolean;
}

export class CreateScheduleParams extends ScheduleFieldsParams {
  @ApiProperty({ example: 'zap', description: SCANNER_DOC })
  @EmptyAsMissing()
  @IsRequired('scanner')
  @IsString()
  @MaxLength(100)
  scanner!: string;
}

export class UpdateScheduleParams extends ScheduleFieldsParams {
  @ApiPropertyOptional({ example: 'zap', description: SCANNER_DOC })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  scanner?: string;
}

export class ScheduleRunJson {
  @ApiProperty({ description: 'ISO-8601 UTC: the due time' }) dueAt!: string;
  @ApiProperty({ description: 'ISO-8601 UTC: when an instance fired it' }) firedAt!: string;
  @ApiProperty({ enum: ['queued', 'skipped', 'failed'] }) outcome!: RunOutcome;
  @ApiProperty({ type: Number, nullable: true }) taskId!: number | null;
  @ApiProperty() message!: string;
}

export class ScheduleJson {
  @ApiProperty() id!: number;
  @ApiProperty() applicationId!: number;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy', description: 'display name' })
  scanner!: string;
  @ApiProperty({ example: 'zap' }) scannerShortName!: string;
  @ApiProperty({ example: '0 2 * * *' }) cronExpression!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) timezone!: string;
  @ApiProperty({ type: String, nullable: true, enum: ['Daily', 'Weekly'] })
  frequency!: string | null;
  @ApiProperty({ type: Number, nullable: true }) hour!: number | null;
  @ApiProperty({ type: Number, nullable: true }) minute!: number | null;
  @ApiProperty({ type: String, nullable: true }) period!: string | null;
  @ApiProperty({ type: String, nullable: true }) day!: string | null;
  @ApiProperty({ example: 'Daily at 2:00 AM (Europe/Berlin)' }) scheduledDate!: string;
  @ApiProperty({ type: String, nullable: true }) targetUrl!: string | null;
  @ApiProperty({ type: Number, nullable: true }) scanConfigId!: number | null;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ enum: ['skip', 'queue'] }) whenPending!: WhenPending;
  @ApiProperty({ type: Number, nullable: true }) priority!: number | null;
  @ApiProperty({ type: Number, nullable: true }) retryLimit!: number | null;
  @ApiProperty({ type: Number, nullable: true }) retryDelaySeconds!: number | null;
  @ApiProperty({ type: Boolean, nullable: true }) retryBackoff!: boolean | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'ISO-8601 UTC; null when disabled or no due time is left',
  })
  nextRunAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'ISO-8601 UTC: the last due time fired',
  })
  lastRunAt!: string | null;
  @ApiProperty({ type: ScheduleRunJson, nullable: true }) lastRun!: ScheduleRunJson | null;
  @ApiProperty({ type: Number, nullable: true }) createdByApiKeyId!: number | null;
  @ApiProperty({ description: 'epoch ms' }) createdTime!: number;
  @ApiProperty({ description: 'epoch ms' }) modifiedTime!: number;
}

/** The NATS payloads: the REST path's ids beside the route's parameters. */
export class ApplicationSchedulesMessage {
  @ToInt()
  @IsInt({ message: 'applicationId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  applicationId!: number;
}

export class ScheduleMessage extends ApplicationSchedulesMessage {
  @ToInt()
  @IsInt({ message: 'scheduleId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  scheduleId!: number;
}

export class CreateScheduleMessage extends CreateScheduleParams {
  @ToInt()
  @IsInt({ message: 'applicationId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  applicationId!: number;
}

export class UpdateScheduleMessage extends UpdateScheduleParams {
  @ToInt()
  @IsInt({ message: 'applicationId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  applicationId!: number;

  @ToInt()
  @IsInt({ message: 'scheduleId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  scheduleId!: number;
}

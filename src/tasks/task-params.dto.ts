/** The agent protocol's parameters, with ThreadFix's names (form fields, query string or JSON). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUrl, Max, MaxLength, Min } from 'class-validator';
import {
  CommaSeparatedList,
  EmptyAsMissing,
  HTTP_URL_RULES,
  IsRequired,
  ToInt,
} from '../rest/param-rules';
import {
  PriorityField,
  RetryBackoffField,
  RetryDelayField,
  RetryLimitField,
} from './task-policy-fields';

const MAX_TIMEOUT_SECONDS = 30 * 24 * 3600;
/** A wait asked for beyond this is refused (a longer one within it is cut to POLL_WAIT_MAX_SECONDS). */
export const MAX_WAIT_SECONDS = 3600;
/** Ids are PostgreSQL int4: a larger number would fail in the query (a 500), not as a bad parameter. */
const MAX_ID = 2147483647;

export class QueueScanParams {
  @ApiProperty({ example: 1 })
  @ToInt()
  @IsRequired('applicationId')
  @IsInt({ message: 'applicationId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  applicationId!: number;

  @ApiProperty({
    example: 'OWASP Zed Attack Proxy',
    description: 'short name (zap), display name or a ThreadFix alias',
  })
  @EmptyAsMissing()
  @IsRequired('scannerType')
  @IsString()
  @MaxLength(100)
  scannerType!: string;

  @ApiPropertyOptional({
    description: "id of one of the application's scan configs (see setTaskConfig)",
  })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'scanConfigId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  scanConfigId?: number;

  @ApiPropertyOptional({ description: "the task's own target; defaults to the application URL" })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @IsUrl(HTTP_URL_RULES, { message: 'targetUrl must be an http or https URL.' })
  targetUrl?: string;

  @ApiPropertyOptional({ description: 'ThreadFix Python client spelling of targetUrl' })
  @EmptyAsMissing()
  @IsOptional()
  @IsString()
  @MaxLength(255)
  @IsUrl(HTTP_URL_RULES, { message: 'targetURL must be an http or https URL.' })
  targetURL?: string;

  @ApiPropertyOptional({
    description: 'time the agent has from claim to result (default TASK_TIMEOUT_SECONDS)',
  })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'timeoutSeconds must be an integer.' })
  @Min(1)
  @Max(MAX_TIMEOUT_SECONDS)
  timeoutSeconds?: number;

  @PriorityField('higher is claimed first (default 0); equal priorities go oldest first')
  priority?: number;

  @RetryLimitField(
    "retries after a failed or timed-out attempt (default: the scanner's TASK_RETRY_POLICY)",
  )
  retryLimit?: number;

  @RetryDelayField('seconds before the first retry may be claimed (±20 % jitter)')
  retryDelaySeconds?: number;

  @RetryBackoffField('true: the delay doubles with each attempt')
  retryBackoff?: boolean;
}

/** The keys every call on a claimed task presents. Presence is checked by the service (ThreadFix's messages). */
export class TaskKeyParams {
  @ApiProperty({ example: 1 })
  @ToInt()
  @IsRequired('scanQueueTaskId')
  @IsInt({ message: 'scanQueueTaskId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  scanQueueTaskId!: number;

  @ApiPropertyOptional({ description: 'the key requestTask returned with the task' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  secureTaskKey?: string;

  @ApiPropertyOptional({
    description: 'the key requestScanAgentKey issued, the one that claimed the task',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  scanAgentSecureKey?: string;
}

export class TaskStatusUpdateParams extends TaskKeyParams {
  @ApiProperty({
    example: 'Spidering 40% done',
    description:
      'at most STATUS_MESSAGE_MAX_CHARS characters (default 4096; 413 above; failTask stores a longer reason cut)',
  })
  @IsRequired('message')
  @IsString()
  message!: string;
}

export class FailTaskParams extends TaskStatusUpdateParams {}

export class CompleteTaskParams extends TaskKeyParams {}

export class RequestTaskParams {
  @ApiProperty({
    example: 'OWASP Zed Attack Proxy,Burp Suite Pro',
    description: 'scanner names, comma-separated or repeated (`scanners=zap&scanners=burp`)',
  })
  @CommaSeparatedList()
  @EmptyAsMissing()
  @IsRequired('scanners')
  @IsString()
  @MaxLength(2000)
  scanners!: string;

  @ApiPropertyOptional({
    description: "free text describing the agent's host (or upload it as a file part)",
  })
  @IsOptional()
  @IsString()
  agentConfig?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  scanAgentSecureKey?: string;

  @ApiPropertyOptional({
    description:
      'long poll: seconds to wait for a task when none is queued (cut to POLL_WAIT_MAX_SECONDS; or header X-Scanqueue-Wait); 0 or none: answer at once',
  })
  @ToInt()
  @IsOptional()
  @IsInt({ message: 'waitSeconds must be an integer.' })
  @Min(0)
  @Max(MAX_WAIT_SECONDS)
  waitSeconds?: number;
}

const REQUEST_TASK_FIELDS = new Set([
  'scanners',
  'agentConfig',
  'scanAgentSecureKey',
  'waitSeconds',
]);

/**
 * RequestTaskParams without class-validator, for the shape an agent sends on every poll
 * (validation was a fifth of an empty poll's CPU): only the DTO's fields, every value a string
 * well within the rules above. Anything else is undefined: validateParams takes it, and words any
 * failure. test/request-task-params.e2e-spec.ts checks on random inputs that whatever this
 * accepts, the DTO's validation accepts and turns into the same parameters.
 */
export function plainRequestTaskParams(
  plain: Record<string, unknown>,
): RequestTaskParams | undefined {
  for (const key in plain) if (!REQUEST_TASK_FIELDS.has(key)) return undefined;
  const { scanners, agentConfig, scanAgentSecureKey, waitSeconds } = plain;
  if (typeof scanners !== 'string' || scanners.length > 2000 || scanners.trim() === '')
    return undefined;
  const params = new RequestTaskParams();
  params.scanners = scanners;
  if (agentConfig !== undefined) {
    if (typeof agentConfig !== 'string') return undefined;
    params.agentConfig = agentConfig;
  }
  if (scanAgentSecureKey !== undefined) {
    // (class-validator counts a surrogate pair as one character: `length` is never less.)
    if (typeof scanAgentSecureKey !== 'string' || scanAgentSecureKey.length > 200) return undefined;
    params.scanAgentSecureKey = scanAgentSecureKey;
  }
  if (waitSeconds !== undefined) {
    if (typeof waitSeconds !== 'string' || !/^(0|[1-9]\d{0,3})$/.test(waitSeconds))
      return undefined;
    if (Number(waitSeconds) > MAX_WAIT_SECONDS) return undefined;
    params.waitSeconds = Number(waitSeconds);
  }
  return params;
}

export class SetTaskConfigParams {
  @ApiProperty({ example: 1 })
  @ToInt()
  @IsRequired('appId')
  @IsInt({ message: 'appId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  appId!: number;

  @ApiProperty({ example: 'zap' })
  @EmptyAsMissing()
  @IsRequired('scannerType')
  @IsString()
  @MaxLength(100)
  scannerType!: string;
}

export class ListTasksParams {
  @ApiPropertyOptional({ description: 'status int (1..7)' })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7)
  status?: number;

  @ApiPropertyOptional()
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  applicationId?: number;

  @ApiPropertyOptional({ description: 'any scanner name' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  scanner?: string;

  @ApiPropertyOptional({ default: 1 })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  pageSize?: number;
}

export class TaskHistoryParams {
  @ApiPropertyOptional({ default: 1 })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page?: number;

  @ApiPropertyOptional({ default: 100, maximum: 500 })
  @ToInt()
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  pageSize?: number;
}

/**
 * The priority and retry fields a task is queued with, validated one way wherever they are taken
 * (queueScan, a schedule): one set of bounds, one message per field.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ToBoolean, ToInt } from '../rest/param-rules';
import { RETRY_BOUNDS } from './retry-policy';

export const PRIORITY_BOUNDS = { min: -100, max: 100 } as const;

function integerField(name: string, min: number, max: number, description: string) {
  const message = `${name} must be an integer from ${min} to ${max}.`;
  return applyDecorators(
    ApiPropertyOptional({ type: Number, minimum: min, maximum: max, description }),
    ToInt(),
    IsOptional(),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

export const PriorityField = (description: string) =>
  integerField('priority', PRIORITY_BOUNDS.min, PRIORITY_BOUNDS.max, description);

export const RetryLimitField = (description: string) =>
  integerField('retryLimit', 0, RETRY_BOUNDS.limit, description);

export const RetryDelayField = (description: string) =>
  integerField('retryDelaySeconds', 0, RETRY_BOUNDS.delaySeconds, description);

export const RetryBackoffField = (description: string) =>
  applyDecorators(
    ApiPropertyOptional({ type: Boolean, description }),
    ToBoolean(),
    IsOptional(),
    IsBoolean({ message: 'retryBackoff must be true or false.' }),
  );

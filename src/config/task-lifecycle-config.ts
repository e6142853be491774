/**
 * The tasks' life after queueing (src/tasks): priorities, retries, QUEUED expiry, task heartbeats.
 */
import { Transform } from 'class-transformer';
import { IsInt, Max, Min, ValidateBy } from 'class-validator';
import { toInt } from './env-values';
import { EventsConfig } from './events-config';

/** One scanner's retry policy as TASK_RETRY_POLICY spells it (every field optional). */
export interface RetryPolicySetting {
  limit?: number;
  delaySeconds?: number;
  backoff?: boolean;
}

const RETRY_FIELDS: Record<keyof RetryPolicySetting, (value: unknown) => boolean> = {
  limit: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 20,
  delaySeconds: (value) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 86_400,
  backoff: (value) => typeof value === 'boolean',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON text → object; anything unparsable stays as it is for the validator to refuse. */
const parseJson = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
};

/** `{"<scanner or default>": {limit, delaySeconds, backoff}}`; scanner names are checked by src/tasks at boot. */
const IsRetryPolicies = () =>
  ValidateBy({
    name: 'isRetryPolicies',
    validator: {
      validate: (value: unknown) =>
        isObject(value) &&
        Object.keys(value).length <= 50 &&
        Object.values(value).every(
          (policy) =>
            isObject(policy) &&
            Object.entries(policy).every(
              ([field, setting]) =>
                field in RETRY_FIELDS && RETRY_FIELDS[field as keyof RetryPolicySetting](setting),
            ),
        ),
      defaultMessage: () =>
        'TASK_RETRY_POLICY must be a JSON object of scanner names (or "default") to {"limit": 0-20, "delaySeconds": 0-86400, "backoff": true|false}',
    },
  });

export class TaskLifecycleConfig extends EventsConfig {
  /**
   * Retries of a failed or timed-out task, per scanner (short name, display name or alias) and
   * "default"; queueScan's retryLimit/retryDelaySeconds/retryBackoff override it. Default: none.
   */
  @Transform(parseJson)
  @IsRetryPolicies()
  TASK_RETRY_POLICY: Record<string, RetryPolicySetting> = {};

  /** A QUEUED task not claimed within this (from its queueing, or a retry's not-before) times out; 0: never. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 3600)
  QUEUED_TASK_EXPIRY_SECONDS = 0;

  /**
   * An ASSIGNED task whose agent made no call about it for this long is taken back (timed out and
   * retried under its policy); 0: never (ThreadFix agents post nothing during a scan).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(30 * 24 * 3600)
  TASK_SILENCE_SECONDS = 0;
}

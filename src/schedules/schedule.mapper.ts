/** A schedule row to its JSON: every field named here, the stored shape never on the wire. */
import { resolveScanner } from '../scans/scanner-types';
import { ScheduleJson } from './schedule.dto';
import { ScheduleRow } from './schedules.repository';
import { scheduledDateText, ThreadFixTiming } from './schedule-timing';

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

export function threadFixTimingOf(row: ScheduleRow): ThreadFixTiming | null {
  if (row.frequency === null || row.hour === null || row.minute === null || row.period === null)
    return null;
  return {
    frequency: row.frequency as ThreadFixTiming['frequency'],
    hour: row.hour,
    minute: row.minute,
    period: row.period as ThreadFixTiming['period'],
    day: row.day as ThreadFixTiming['day'],
  };
}

export function scannerDisplayName(shortName: string): string {
  return resolveScanner(shortName)?.displayName ?? shortName;
}

export function toScheduleJson(row: ScheduleRow): ScheduleJson {
  const timing = threadFixTimingOf(row);
  return {
    id: row.id,
    applicationId: row.application_id,
    scanner: scannerDisplayName(row.scanner),
    scannerShortName: row.scanner,
    cronExpression: row.cron_expression,
    timezone: row.timezone,
    frequency: row.frequency,
    hour: row.hour,
    minute: row.minute,
    period: row.period,
    day: row.day,
    scheduledDate: `${timing ? scheduledDateText(timing) : `cron ${row.cron_expression}`} (${row.timezone})`,
    targetUrl: row.target_url,
    scanConfigId: row.scan_config_id,
    enabled: row.enabled,
    whenPending: row.when_pending,
    priority: row.priority,
    retryLimit: row.retry_limit,
    retryDelaySeconds: row.retry_delay_seconds,
    retryBackoff: row.retry_backoff,
    nextRunAt: row.enabled ? iso(row.next_run_at) : null,
    lastRunAt: iso(row.last_due_at),
    lastRun:
      row.last_due_at && row.last_fired_at && row.last_outcome
        ? {
            dueAt: row.last_due_at.toISOString(),
            firedAt: row.last_fired_at.toISOString(),
            outcome: row.last_outcome,
            taskId: row.last_task_id,
            message: row.last_message ?? '',
          }
        : null,
    createdByApiKeyId: row.created_by_api_key_id,
    createdTime: row.created_at.getTime(),
    modifiedTime: row.updated_at.getTime(),
  };
}

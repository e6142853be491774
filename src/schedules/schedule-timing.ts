/**
 * When a schedule is due: its cron expression and IANA time zone, read by croner (5 fields, or 6
 * with seconds first), or built from ThreadFix's frequency/hour/minute/period/day fields with
 * ThreadFix's messages (docs: /work/shared/spec/threadfix-scheduled-scans.md §2, §7). Pure.
 */
import { Cron } from 'croner';
import { BadRestParameter } from '../rest/rest-error';

export const DAYS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;

/** ThreadFix's ScheduledScan fields, as stored and shown (normalised). */
export interface ThreadFixTiming {
  frequency: 'Daily' | 'Weekly';
  hour: number;
  minute: number;
  period: 'AM' | 'PM';
  day: (typeof DAYS)[number] | null;
}

/** What a caller may send for ThreadFix's fields: anything, checked here in ThreadFix's order. */
export interface ThreadFixTimingInput {
  frequency?: unknown;
  hour?: unknown;
  minute?: unknown;
  period?: unknown;
  day?: unknown;
}

const MAX_CRON_CHARS = 120;
/** Due times looked at to find the shortest gap an expression leaves. */
const GAP_SAMPLE = 20;

const isIntIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

const matchOf = <T extends string>(value: unknown, names: readonly T[]): T | undefined =>
  typeof value === 'string'
    ? names.find((name) => name.toLowerCase() === value.trim().toLowerCase())
    : undefined;

/**
 * ThreadFix's validateDate, first failure wins, with its messages; then the bugs of spec §6 fixed:
 * a missing or unknown frequency or period is a 400 (not an NPE or a silent Daily), and the day is
 * dropped for Daily.
 */
export function threadFixTiming(input: ThreadFixTimingInput): ThreadFixTiming {
  const frequency = matchOf(input.frequency, ['Daily', 'Weekly'] as const);
  if (!frequency) throw new BadRestParameter('Select Daily or Weekly');
  if (!isIntIn(input.hour, 0, 12))
    throw new BadRestParameter('Input hour as a number from 0 to 12');
  if (!isIntIn(input.minute, 0, 59))
    throw new BadRestParameter('Input minute as a number from 0 to 59');
  const period = matchOf(input.period, ['AM', 'PM'] as const);
  if (!period) throw new BadRestParameter('Select AM or PM');
  const day = frequency === 'Weekly' ? matchOf(input.day, DAYS) : null;
  if (day === undefined) throw new BadRestParameter('Select day from list');
  return { frequency, hour: input.hour, minute: input.minute, period, day };
}

/** 12 AM is midnight and 12 PM noon (ThreadFix made 12 AM noon); 0 is the UI's "12". */
export function hour24(timing: Pick<ThreadFixTiming, 'hour' | 'period'>): number {
  const hour = timing.hour % 12;
  return timing.period === 'PM' ? hour + 12 : hour;
}

export function threadFixCron(timing: ThreadFixTiming): string {
  const dayOfWeek = timing.day ? timing.day.slice(0, 3).toUpperCase() : '*';
  return `${timing.minute} ${hour24(timing)} * * ${dayOfWeek}`;
}

/** ThreadFix's scheduledDate text, fixed: minutes padded, AM/PM shown, 12 not 0. */
export function scheduledDateText(timing: ThreadFixTiming): string {
  const clock = `${timing.hour % 12 === 0 ? 12 : timing.hour % 12}:${String(timing.minute).padStart(2, '0')} ${timing.period}`;
  return timing.day ? `Weekly on ${timing.day} at ${clock}` : `Daily at ${clock}`;
}

/** The zone's canonical IANA name (`utc` → `UTC`); a 400 for anything else. */
export function canonicalTimeZone(zone: string): string {
  // Intl also takes offsets (+01:00) on newer engines: only names are stored.
  if (zone.length > 64 || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone))
    throw new BadRestParameter(`timezone must be an IANA time zone name, e.g. Europe/Berlin.`);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new BadRestParameter(`timezone ${zone} is not a known IANA time zone.`);
  }
}

/** The server's own zone, recorded on a schedule created without one. */
export const serverTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A schedule's timing, parsed once: due times in its zone. */
export class ScheduleTiming {
  private readonly cron: Cron;

  private constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.cron = new Cron(expression, { timezone, paused: true });
  }

  /** Parses a stored expression (already validated when it was stored). */
  static of(expression: string, timezone: string): ScheduleTiming {
    return new ScheduleTiming(expression, timezone);
  }

  /**
   * Validates a caller's expression: croner's syntax, a due time to come, and no two due times
   * closer than `minIntervalSeconds` (among the next few).
   */
  static parse(expression: string, timezone: string, minIntervalSeconds: number): ScheduleTiming {
    const text = expression.trim().replace(/\s+/g, ' ');
    if (text.length === 0 || text.length > MAX_CRON_CHARS)
      throw new BadRestParameter(`cronExpression must be 1 to ${MAX_CRON_CHARS} characters.`);
    let timing: ScheduleTiming;
    try {
      timing = new ScheduleTiming(text, timezone);
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : '';
      throw new BadRestParameter(`cronExpression is not a valid cron expression: ${reason}`);
    }
    const runs = timing.cron.nextRuns(GAP_SAMPLE, new Date());
    if (runs.length === 0) throw new BadRestParameter('cronExpression has no due time to come.');
    for (let i = 1; i < runs.length; i++) {
      if (runs[i].getTime() - runs[i - 1].getTime() < minIntervalSeconds * 1000)
        throw new BadRestParameter(
          `cronExpression is due more often than every ${minIntervalSeconds} s (SCHEDULE_MIN_INTERVAL_SECONDS).`,
        );
    }
    return timing;
  }

  /** The first due time strictly after `after`; null when none is left. */
  nextAfter(after: Date): Date | null {
    return this.cron.nextRun(after);
  }
}

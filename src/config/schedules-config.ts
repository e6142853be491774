/**
 * Scheduled scans (src/schedules): the scheduler's loop and the bounds of a schedule.
 */
import { Transform } from 'class-transformer';
import { IsIn, IsInt, Max, Min, ValidateBy } from 'class-validator';
import { toInt } from './env-values';
import { FleetConfig } from './fleet-config';

/** Empty, or a zone name this runtime knows (Intl), as a schedule's `timezone` must be. */
const IsTimeZoneOrEmpty = () =>
  ValidateBy({
    name: 'isTimeZoneOrEmpty',
    validator: {
      validate: (value: unknown) => {
        if (value === '') return true;
        if (
          typeof value !== 'string' ||
          !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)
        )
          return false;
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: value });
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: () =>
        'SCHEDULE_DEFAULT_TIMEZONE must be an IANA time zone name (Europe/Berlin) or empty',
    },
  });

export class SchedulesConfig extends FleetConfig {
  /**
   * Longest wait of this instance's scheduler between two looks for due schedules (it also wakes
   * at the next due time it knows of); 0: this instance fires no schedule.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  SCHEDULER_INTERVAL_SECONDS = 5;

  /** Shortest time a cron expression may leave between two of its due times. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  SCHEDULE_MIN_INTERVAL_SECONDS = 60;

  /**
   * Runs (due times and what came of them) kept per schedule; older ones are deleted as new ones
   * are recorded, but for those whose task is still QUEUED or ASSIGNED (whenPending=skip reads them).
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(100_000)
  SCHEDULE_RUNS_KEPT = 100;

  /** Schedules one application may have. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  SCHEDULES_PER_APPLICATION = 50;

  /**
   * A due time found more than SCHEDULE_MISFIRE_SECONDS late (every instance was down): `once`
   * queues it once (the later missed times are passed over), `skip` records it as skipped.
   */
  @IsIn(['once', 'skip'])
  SCHEDULE_CATCH_UP: 'once' | 'skip' = 'once';

  /**
   * Lateness past which a due time counts as missed (Quartz's misfire threshold, 60 s there): a
   * due time less late is fired as usual and the next follows it; a missed one is caught up once
   * (SCHEDULE_CATCH_UP) and the due times since are passed over.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  SCHEDULE_MISFIRE_SECONDS = 10;

  /** IANA zone of a schedule created without `timezone`; empty: the server's zone at creation. */
  @IsTimeZoneOrEmpty()
  SCHEDULE_DEFAULT_TIMEZONE = '';
}

import {
  canonicalTimeZone,
  hour24,
  scheduledDateText,
  ScheduleTiming,
  threadFixCron,
  threadFixTiming,
} from './schedule-timing';

describe("ThreadFix's schedule fields", () => {
  it('map 12 AM to midnight, 12 PM and 0 PM to noon, and h PM to h + 12', () => {
    expect(hour24({ hour: 12, period: 'AM' })).toBe(0);
    expect(hour24({ hour: 0, period: 'AM' })).toBe(0);
    expect(hour24({ hour: 12, period: 'PM' })).toBe(12);
    expect(hour24({ hour: 0, period: 'PM' })).toBe(12);
    expect(hour24({ hour: 7, period: 'PM' })).toBe(19);
  });

  it('become a 5-field cron, the day cleared for Daily, and a padded scheduledDate', () => {
    const weekly = threadFixTiming({
      frequency: 'weekly',
      hour: 9,
      minute: 5,
      period: 'pm',
      day: 'TUESDAY',
    });
    expect(weekly).toEqual({
      frequency: 'Weekly',
      hour: 9,
      minute: 5,
      period: 'PM',
      day: 'Tuesday',
    });
    expect(threadFixCron(weekly)).toBe('5 21 * * TUE');
    expect(scheduledDateText(weekly)).toBe('Weekly on Tuesday at 9:05 PM');
    const daily = threadFixTiming({
      frequency: 'Daily',
      hour: 0,
      minute: 0,
      period: 'AM',
      day: 'Monday',
    });
    expect(daily.day).toBeNull();
    expect(scheduledDateText(daily)).toBe('Daily at 12:00 AM');
  });

  it('are checked in ThreadFix order with its messages', () => {
    const check = (input: Record<string, unknown>) => () => threadFixTiming(input);
    expect(check({ frequency: 'Daily', hour: 13, minute: 99, period: 'XM' })).toThrow(
      'Input hour as a number from 0 to 12',
    );
    expect(check({ frequency: 'Daily', hour: 1, minute: 99, period: 'XM' })).toThrow(
      'Input minute as a number from 0 to 59',
    );
    expect(check({ frequency: 'Daily', hour: 1, minute: 0, period: null })).toThrow(
      'Select AM or PM',
    );
    expect(check({ frequency: 'Weekly', hour: 1, minute: 0, period: 'AM' })).toThrow(
      'Select day from list',
    );
    expect(check({ hour: 1, minute: 0, period: 'AM' })).toThrow('Select Daily or Weekly');
  });
});

describe('ScheduleTiming', () => {
  it('reckons due times in the zone, seconds included', () => {
    const berlin = ScheduleTiming.parse('0 2 * * *', 'Europe/Berlin', 60);
    expect(berlin.nextAfter(new Date('2026-07-01T12:00:00Z'))?.toISOString()).toBe(
      '2026-07-02T00:00:00.000Z',
    );
    const everyFive = ScheduleTiming.parse('*/5 * * * * *', 'UTC', 1);
    expect(everyFive.nextAfter(new Date('2026-01-01T00:00:05.000Z'))?.toISOString()).toBe(
      '2026-01-01T00:00:10.000Z',
    );
  });

  it('refuses a bad expression, one that never fires, and one due too often', () => {
    expect(() => ScheduleTiming.parse('61 * * * *', 'UTC', 60)).toThrow(
      /not a valid cron expression/,
    );
    expect(() => ScheduleTiming.parse('0 0 30 2 *', 'UTC', 60)).toThrow('no due time to come');
    expect(() => ScheduleTiming.parse('*/30 * * * * *', 'UTC', 60)).toThrow(
      /more often than every 60 s/,
    );
  });

  it('keeps IANA zone names only, canonical', () => {
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(() => canonicalTimeZone('+01:00')).toThrow(/IANA/);
    expect(() => canonicalTimeZone('Nowhere/Town')).toThrow('not a known IANA time zone');
  });
});

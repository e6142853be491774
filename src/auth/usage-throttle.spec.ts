import { UsageThrottle } from './usage-throttle';

describe('UsageThrottle', () => {
  it('records a use once a minute per id, and again when the recorded value changes', () => {
    const throttle = new UsageThrottle();
    expect(throttle.shouldRecord(1)).toBe(true);
    expect(throttle.shouldRecord(1)).toBe(false);
    expect(throttle.shouldRecord(2)).toBe(true);
    expect(throttle.shouldRecord(3, 'host=a')).toBe(true);
    expect(throttle.shouldRecord(3, 'host=a')).toBe(false);
    expect(throttle.shouldRecord(3)).toBe(false);
    expect(throttle.shouldRecord(3, 'host=b')).toBe(true);
  });

  it('records again after a minute', () => {
    const throttle = new UsageThrottle();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      expect(throttle.shouldRecord(1)).toBe(true);
      now.mockReturnValue(1_000_000 + 59_000);
      expect(throttle.shouldRecord(1)).toBe(false);
      now.mockReturnValue(1_000_000 + 61_000);
      expect(throttle.shouldRecord(1)).toBe(true);
    } finally {
      now.mockRestore();
    }
  });

  it('tells a new or changed use from one only due by time', () => {
    const throttle = new UsageThrottle(1000, 2);
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      expect(throttle.check(1, 'a')).toBe('new');
      expect(throttle.check(1, 'a')).toBe('recorded');
      expect(throttle.check(1)).toBe('recorded');
      now.mockReturnValue(1_001_000);
      expect(throttle.check(1, 'a')).toBe('due');
      expect(throttle.check(1, 'b')).toBe('new');
      // Bounded: past maxEntries it starts over, and every id is new again.
      expect(throttle.check(2)).toBe('new');
      expect(throttle.check(3)).toBe('new');
      expect(throttle.check(1, 'b')).toBe('new');
    } finally {
      now.mockRestore();
    }
  });
});

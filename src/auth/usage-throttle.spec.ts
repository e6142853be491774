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
});

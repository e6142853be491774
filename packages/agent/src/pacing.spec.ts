import { pacedDelayMs, parsePollInterval } from './pacing';

describe('parsePollInterval', () => {
  it.each([
    ['5', 5],
    ['0', 0],
    [' 30 ', 30],
    ['1.5', 1.5],
  ])('reads %j as %d seconds', (header, seconds) => {
    expect(parsePollInterval(header)).toBe(seconds);
  });

  it.each([[null], [undefined], [''], ['-1'], ['soon'], ['5s'], ['1e3'], ['Infinity'], ['5, 7']])(
    'reads %j as nothing (the agent falls back to its own backoff)',
    (header) => {
      expect(parsePollInterval(header)).toBeUndefined();
    },
  );
});

describe('pacedDelayMs', () => {
  it('waits at least the interval and at most a quarter more', () => {
    expect(pacedDelayMs(4, 300, () => 0)).toBe(4000);
    expect(pacedDelayMs(4, 300, () => 0.5)).toBe(4500);
    expect(pacedDelayMs(4, 300, () => 1)).toBe(5000);
  });

  it('polls again at once when told 0, and never waits a negative time', () => {
    expect(pacedDelayMs(0, 300, () => 0.7)).toBe(0);
    expect(pacedDelayMs(-5, 300, () => 0.7)).toBe(0);
  });

  it('never exceeds the ceiling: an interval above it is drawn from its last fifth', () => {
    expect(pacedDelayMs(3600, 10, () => 0)).toBe(8000);
    expect(pacedDelayMs(3600, 10, () => 1)).toBe(10_000);
    // Near the ceiling, 1.25 × the interval is cut at it.
    expect(pacedDelayMs(9, 10, () => 1)).toBe(10_000);
    expect(pacedDelayMs(9, 10, () => 0)).toBe(8000);
  });

  it('spreads a fleet told the same interval over the jitter band', () => {
    const delays = Array.from({ length: 1000 }, () => pacedDelayMs(30, 300));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(30_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(37_500);
    // Not bunched: the draws fill most of the band's 75 slots of 100 ms.
    expect(new Set(delays.map((d) => Math.floor(d / 100))).size).toBeGreaterThan(60);
    const capped = Array.from({ length: 1000 }, () => pacedDelayMs(3600, 300));
    expect(Math.min(...capped)).toBeGreaterThanOrEqual(240_000);
    expect(Math.max(...capped)).toBeLessThanOrEqual(300_000);
    expect(new Set(capped.map((d) => Math.floor(d / 1000))).size).toBeGreaterThan(50);
  });
});

import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles the ceiling from 2 × min up to max', () => {
    const backoff = new Backoff(100, 1000, () => 1);
    const ceilings = Array.from({ length: 7 }, () => backoff.next().ceilingMs);
    expect(ceilings).toEqual([200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('draws each wait uniformly between min and the ceiling (full jitter)', () => {
    const lowest = new Backoff(100, 1000, () => 0);
    const highest = new Backoff(100, 1000, () => 0.999999);
    const middle = new Backoff(100, 1000, () => 0.5);
    for (let i = 0; i < 5; i++) {
      const low = lowest.next();
      const high = highest.next();
      expect(low.delayMs).toBe(100);
      expect(high.delayMs).toBeCloseTo(high.ceilingMs, 2);
      expect(middle.next().delayMs).toBe(100 + (low.ceilingMs - 100) / 2);
    }
  });

  it('stays within [min, max] with the real random source, and spreads the waits out', () => {
    const backoff = new Backoff(50, 400);
    const delays = Array.from({ length: 500 }, () => backoff.next().delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays.map((d) => Math.round(d / 10))).size).toBeGreaterThan(20);
  });

  it('counts attempts and starts over after reset', () => {
    const backoff = new Backoff(100, 1000, () => 0);
    expect(backoff.next().attempt).toBe(1);
    expect(backoff.next().attempt).toBe(2);
    expect(backoff.next().ceilingMs).toBe(800);
    backoff.reset();
    expect(backoff.next()).toEqual({ attempt: 1, ceilingMs: 200, delayMs: 100 });
  });

  it('never overflows after very many attempts', () => {
    const backoff = new Backoff(1, 60_000, () => 0.5);
    let step = backoff.next();
    for (let i = 0; i < 5000; i++) step = backoff.next();
    expect(step.ceilingMs).toBe(60_000);
    expect(Number.isFinite(step.delayMs)).toBe(true);
  });

  it('refuses min <= 0 or max < min', () => {
    expect(() => new Backoff(0, 10)).toThrow(RangeError);
    expect(() => new Backoff(10, 5)).toThrow(RangeError);
  });
});

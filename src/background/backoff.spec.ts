import { retryDelayMs } from './backoff';

describe('retryDelayMs', () => {
  it('doubles per attempt with jitter in the upper half of the step, capped', () => {
    for (let i = 0; i < 200; i++) {
      const first = retryDelayMs(1, 100, 10_000);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      const fourth = retryDelayMs(4, 100, 10_000);
      expect(fourth).toBeGreaterThanOrEqual(400);
      expect(fourth).toBeLessThanOrEqual(800);
      const late = retryDelayMs(60, 100, 10_000);
      expect(late).toBeGreaterThanOrEqual(5_000);
      expect(late).toBeLessThanOrEqual(10_000);
    }
  });
});

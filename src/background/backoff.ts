/** The one retry-delay formula of the background work (relay, webhooks, loops that fail). */

/**
 * Exponential with "equal jitter": the n-th attempt waits between half and all of
 * min(maxMs, baseMs · 2^(n-1)), so retries spread out but never bunch at 0.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts, 1) - 1, 30));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

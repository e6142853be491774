/**
 * Waits for what the product does asynchronously (a NOTIFY, a background job, a relay) without a
 * fixed sleep: polls `probe` until it gives a value, anything but undefined or false, and returns
 * it; fails naming `what` once `ms` have passed. Timing claims read their own clocks, not this.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

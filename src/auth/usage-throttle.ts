/**
 * "Last used" / "last seen" are for admins, not an audit log: this process writes them at most once
 * a minute per key (or when the recorded value changes), so a poll costs no no-op UPDATE.
 */
const INTERVAL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class UsageThrottle {
  private readonly recorded = new Map<number, { at: number; value: string | undefined }>();

  /** True when the use of `id` (with `value`, if it matters) should be written now; records it. */
  shouldRecord(id: number, value?: string): boolean {
    const now = Date.now();
    const last = this.recorded.get(id);
    if (last && now - last.at < INTERVAL_MS && (value === undefined || value === last.value))
      return false;
    if (this.recorded.size >= MAX_ENTRIES) this.recorded.clear(); // bounded; a clear costs one write per key
    this.recorded.set(id, { at: now, value: value ?? last?.value });
    return true;
  }
}

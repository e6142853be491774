/**
 * "Last used" / "last seen" are for admins, not an audit log: this process writes them at most once
 * a minute per key (or when the recorded value changes), so a poll costs no no-op UPDATE.
 */
const INTERVAL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class UsageThrottle<V = string> {
  private readonly recorded = new Map<number, { at: number; value: V | undefined }>();

  /**
   * `intervalMs`: the agents' is shorter than a minute, below their online threshold.
   * `maxEntries`: ids tracked at once (a clear beyond it costs one write per id).
   * `same`: whether two recorded values are alike (an agent's compares its parts, unserialized).
   */
  constructor(
    private readonly intervalMs = INTERVAL_MS,
    private readonly maxEntries = MAX_ENTRIES,
    private readonly same: (a: V, b: V) => boolean = Object.is,
  ) {}

  /** True when the use of `id` (with `value`, if it matters) should be written now; records it. */
  shouldRecord(id: number, value?: V): boolean {
    return this.check(id, value) !== 'recorded';
  }

  /**
   * Whether the use of `id` is to be written, and why: `new` (first seen here, or `value` changed),
   * `due` (the interval passed; nothing else changed), or `recorded` (nothing to write). Records it.
   */
  check(id: number, value?: V): 'new' | 'due' | 'recorded' {
    const now = Date.now();
    const last = this.recorded.get(id);
    const changed =
      !last || (value !== undefined && (last.value === undefined || !this.same(value, last.value)));
    if (!changed && now - last.at < this.intervalMs) return 'recorded';
    if (this.recorded.size >= this.maxEntries) this.recorded.clear(); // bounded
    this.recorded.set(id, { at: now, value: value ?? last?.value });
    return changed ? 'new' : 'due';
  }
}

/** A bounded map whose entries expire `ttlMs` after they were set (ttlMs 0: keeps nothing). */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: K, value: V): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear(); // bounded; refills on demand
    this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}

/**
 * Agent keys this instance recently saw claim (issue 15 item 3): by the key's SHA-256, the agent,
 * the API key that issued it and whether it was paused. It lets requestTask answer a poll whose
 * scanners are known empty with no database round trip. Only what a claim confirmed is kept, for
 * API_KEY_CACHE_SECONDS (the API keys' own window: a revocation on another instance reaches a
 * cached agent within it, and such an agent is never handed a task meanwhile, only "No task
 * found."); this instance's own revocations, pauses and resumes take effect at once. Bounded: the
 * least recently used entry goes first.
 */
export interface KnownAgent {
  agentId: number;
  /** The API key that issued the agent key: presented with another, the key is refused. */
  apiKeyId: number;
  paused: boolean;
}

export class AgentKeyCache {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, KnownAgent & { expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(keyHash: string): KnownAgent | undefined {
    const entry = this.entries.get(keyHash);
    if (entry === undefined) return undefined;
    this.entries.delete(keyHash);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(keyHash, entry);
    return entry;
  }

  set(keyHash: string, agent: KnownAgent): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(keyHash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(keyHash, { ...agent, expiresAt: this.now() + this.ttlMs });
  }

  /** Drops the entries `matches` selects (an agent revoked, paused or resumed; an API key revoked). */
  forget(matches: (agent: KnownAgent) => boolean): void {
    for (const [keyHash, agent] of this.entries) if (matches(agent)) this.entries.delete(keyHash);
  }

  get size(): number {
    return this.entries.size;
  }
}

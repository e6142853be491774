/**
 * Agent keys this instance recently saw claim (issue 15 item 3): by the key's SHA-256, the agent,
 * the API key that issued it and whether it was paused. It lets requestTask answer a poll whose
 * scanners are known empty with no database round trip. Only what a claim confirmed is kept, for
 * the TTL its setter gives (scan-agents.service.ts: long while revocations arrive by NOTIFY, else
 * the API keys' own short window; a cached agent is never handed a task meanwhile, only "No task
 * found."). Bounded, by a clock (second chance): a hit only marks its entry used, where a strict
 * LRU would move it in the map on every poll; when the cache is full, the oldest entry not used
 * since it was last passed over goes, and the used ones passed over move to the back, unmarked.
 */
export interface KnownAgent {
  agentId: number;
  /** The API key that issued the agent key: presented with another, the key is refused. */
  apiKeyId: number;
  paused: boolean;
}

export class AgentKeyCache {
  /** Map order is the clock's: the first entry is the next one the bound looks at. */
  private readonly entries = new Map<string, KnownAgent & { expiresAt: number; used: boolean }>();
  /** The key hash of each cached agent: a revocation names the agent. */
  private readonly byAgent = new Map<number, string>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(keyHash: string): KnownAgent | undefined {
    const entry = this.entries.get(keyHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.delete(keyHash);
      return undefined;
    }
    entry.used = true;
    return entry;
  }

  set(keyHash: string, agent: KnownAgent, ttlMs = this.ttlMs): void {
    if (ttlMs <= 0) return;
    this.delete(keyHash);
    if (this.entries.size >= this.maxEntries) this.evictOne();
    this.entries.set(keyHash, { ...agent, expiresAt: this.now() + ttlMs, used: false });
    this.byAgent.set(agent.agentId, keyHash);
  }

  /** Drops one agent (revoked, paused or resumed): O(1), as a mass revocation names thousands. */
  forgetAgent(agentId: number): void {
    const keyHash = this.byAgent.get(agentId);
    if (keyHash !== undefined) this.delete(keyHash);
  }

  /** Drops the entries `matches` selects (an API key revoked). */
  forget(matches: (agent: KnownAgent) => boolean): void {
    for (const [keyHash, agent] of this.entries) if (matches(agent)) this.delete(keyHash);
  }

  clear(): void {
    this.entries.clear();
    this.byAgent.clear();
  }

  /** At most one pass: the entries it moves to the back come round again unmarked. */
  private evictOne(): void {
    for (const [keyHash, entry] of this.entries) {
      if (!entry.used) return this.delete(keyHash);
      entry.used = false;
      this.entries.delete(keyHash);
      this.entries.set(keyHash, entry);
    }
  }

  private delete(keyHash: string): void {
    const entry = this.entries.get(keyHash);
    if (entry === undefined) return;
    this.entries.delete(keyHash);
    if (this.byAgent.get(entry.agentId) === keyHash) this.byAgent.delete(entry.agentId);
  }

  get size(): number {
    return this.entries.size;
  }
}

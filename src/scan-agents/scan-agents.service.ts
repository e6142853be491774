/**
 * Scan-agent instances. ThreadFix handed out agent keys without remembering them, so any string
 * worked; scanqueue stores each issued key's hash and refuses unknown or revoked ones. An agent key
 * is bound to the API key that issued it: it works only presented together with that key, and dies
 * with it (revocation cascades, api-keys.service.ts; the lookups below also check it).
 */
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { MaybePromise } from '../async/maybe-promise';
import { AuthenticationFailed, BadRestParameter, Forbidden, NotFound } from '../rest/rest-error';
import { ApiKeysService, UNKNOWN_API_KEY } from '../auth/api-keys.service';
import { generateSecretKey, hashSecretKey, secretKeyMatches } from '../auth/secret-keys';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { UsageThrottle } from '../auth/usage-throttle';
import { AppConfig } from '../config/app-config';
import { WakeupsService } from '../wakeups/wakeups.service';
import { AgentKeyCache, KnownAgent } from './agent-key-cache';
import { FleetMetrics } from './fleet-metrics';
import { AgentRow, FleetAgentRow, ScanAgentsRepository } from './scan-agents.repository';

export const MISSING_AGENT_KEY = 'No secure scan agent key found error.';
export const UNKNOWN_AGENT_KEY = 'Secure scan agent key was not recognized.';

/** Agent keys one instance remembers (agent-key-cache.ts); beyond, the least used of late go. */
const MAX_KNOWN_AGENT_KEYS = 20_000;
/** Agents whose last write one instance remembers (a fleet of 10,000 and more). */
const MAX_SEEN_AGENTS = 100_000;

/** A heartbeat with nothing else to record waits at most this long for its batch. */
const SEEN_BATCH_MS = 5000;
/** Heartbeats written by one statement at most. */
const SEEN_BATCH_MAX = 5000;

/** What an agent's record says of it, as a heartbeat last wrote it: a change is written at once. */
interface SeenAs {
  agentConfig: string | undefined;
  scanners: readonly string[] | undefined;
}

/** Compared in place, not serialized: every poll asks (a poll's list is usually the same array). */
function sameSeenAs(a: SeenAs, b: SeenAs): boolean {
  if (a.agentConfig !== b.agentConfig) return false;
  const x = a.scanners;
  const y = b.scanners;
  if (x === y) return true;
  return (
    x !== undefined && y !== undefined && x.length === y.length && x.every((s, i) => s === y[i])
  );
}

/** A pause or resume: the agent after it, and whether it changed (false: it already was). */
export interface AgentPauseResult {
  message: string;
  changed: boolean;
  agent: FleetAgentRow;
}

@Injectable()
export class ScanAgentsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ScanAgentsService.name);
  private readonly seen: UsageThrottle<SeenAs>;
  private readonly knownKeys: AgentKeyCache;
  /** Agents whose heartbeat is due, with nothing else to record: written together. */
  private readonly seenBatch = new Set<number>();
  private seenFlush?: NodeJS.Timeout;

  constructor(
    private readonly repository: ScanAgentsRepository,
    private readonly config: AppConfig,
    private readonly metrics: FleetMetrics,
    private readonly wakeups: WakeupsService,
    apiKeys: ApiKeysService,
  ) {
    this.seen = new UsageThrottle(config.agentSeenWriteSeconds * 1000, MAX_SEEN_AGENTS, sameSeenAs);
    this.knownKeys = new AgentKeyCache(config.API_KEY_CACHE_SECONDS * 1000, MAX_KNOWN_AGENT_KEYS);
    // Revoking an API key revokes its agents (in its transaction): none stays known here.
    apiKeys.onRevoked((apiKeyId) => this.knownKeys.forget((agent) => agent.apiKeyId === apiKeyId));
    // Any instance's revocation, by its NOTIFY; everything when notifications may have been lost.
    wakeups.onAgentChanged((agentId) =>
      agentId === 'all' ? this.knownKeys.clear() : this.knownKeys.forgetAgent(agentId),
    );
  }

  /**
   * The agent of a key hash a recent claim on this instance confirmed, without asking the database
   * (undefined: not known, ask). Presented with an API key other than its issuer's it is refused
   * as the claim refuses it: 403, one answer for unknown, revoked and foreign keys.
   */
  knownAgent(keyHash: string, apiKeyId: number): KnownAgent | undefined {
    const agent = this.knownKeys.get(keyHash);
    if (agent && agent.apiKeyId !== apiKeyId) throw new Forbidden(UNKNOWN_AGENT_KEY);
    return agent;
  }

  /** A claim confirmed this agent key (issued by `apiKeyId`, not revoked). */
  rememberAgent(keyHash: string, agent: KnownAgent): void {
    const { AGENT_KEY_CACHE_SECONDS, API_KEY_CACHE_SECONDS } = this.config;
    // Long only while revocations arrive by NOTIFY (the listener clears the cache when it drops).
    const seconds = this.wakeups.listening
      ? AGENT_KEY_CACHE_SECONDS
      : Math.min(AGENT_KEY_CACHE_SECONDS, API_KEY_CACHE_SECONDS);
    this.knownKeys.set(keyHash, agent, seconds * 1000);
  }

  /**
   * requestScanAgentKey: a new agent identity owned by the calling API key. A key revoked on
   * another instance (still cached here) gets none.
   */
  async issueKey(apiKeyId: number): Promise<string> {
    const plaintext = generateSecretKey();
    if (!(await this.repository.insertForApiKey(hashSecretKey(plaintext), apiKeyId)))
      throw new AuthenticationFailed(UNKNOWN_API_KEY);
    return plaintext;
  }

  /**
   * The active agent a presented key belongs to, when presented with the API key that issued it;
   * 400 when absent, 403 when unknown, revoked or issued by another API key (one answer for all).
   */
  async authenticate(
    presented: string | undefined,
    apiKeyId: number,
    tx?: EntityManager,
  ): Promise<AgentRow> {
    if (!presented) throw new BadRestParameter(MISSING_AGENT_KEY);
    const agent = await this.repository.findUsable(hashSecretKey(presented), apiKeyId, tx);
    if (!agent || !secretKeyMatches(presented, agent.key_hash))
      throw new Forbidden(UNKNOWN_AGENT_KEY);
    return agent;
  }

  /**
   * Records an authenticated agent call (a heartbeat): at most one write per agent every
   * agentSeenWriteSeconds, unless the agentConfig or the scanners asked for (requestTask's) changed.
   * A promise only when it writes now: an idle agent's empty polls are answered without one.
   */
  recordSeen(
    tx: EntityManager,
    agentId: number,
    agentConfig: string | undefined,
    scanners?: readonly string[],
  ): MaybePromise<void> {
    // A JSON body may say null: the same as none, as the record's write (coalesce) takes it.
    const config = agentConfig ?? undefined;
    const value =
      config === undefined && scanners === undefined
        ? undefined
        : { agentConfig: config, scanners };
    const check = this.seen.check(agentId, value);
    if (check === 'recorded') return;
    if (check === 'due') return this.batchSeen(agentId);
    return this.repository.recordSeen(tx, agentId, {
      agentConfig,
      scanners,
      writeSeconds: this.config.agentSeenWriteSeconds,
    });
  }

  /**
   * A heartbeat only: written with the others due within SEEN_BATCH_MS (or agentSeenWriteSeconds/2
   * when shorter), in one statement. 10,000 agents long-polling 30 s each would otherwise send 333
   * single-row UPDATEs a second; last_seen_at lags by the batch at most, far inside
   * AGENT_ONLINE_SECONDS.
   */
  private batchSeen(agentId: number): void {
    this.seenBatch.add(agentId);
    if (this.seenBatch.size >= SEEN_BATCH_MAX) return void this.flushSeen();
    if (this.seenFlush) return;
    const delayMs = Math.min(SEEN_BATCH_MS, (this.config.agentSeenWriteSeconds * 1000) / 2);
    this.seenFlush = setTimeout(() => void this.flushSeen(), delayMs);
    this.seenFlush.unref();
  }

  private async flushSeen(): Promise<void> {
    clearTimeout(this.seenFlush);
    this.seenFlush = undefined;
    if (this.seenBatch.size === 0) return;
    const agentIds = [...this.seenBatch];
    this.seenBatch.clear();
    try {
      await this.repository.recordSeenMany(agentIds);
    } catch (error) {
      // Only "last seen" is late: the next heartbeat of each agent writes it.
      this.logger.warn(`Heartbeats of ${agentIds.length} agents not written: ${String(error)}`);
    }
  }

  /** The heartbeats still batched, written before the database closes. */
  beforeApplicationShutdown(): Promise<void> {
    return this.flushSeen();
  }

  list(scope: TeamScope): Promise<FleetAgentRow[]> {
    return this.repository.listInScope(scope, this.config.AGENT_ONLINE_SECONDS);
  }

  /** Revokes an agent the scope may see; one it may not answers as a missing one. */
  async revoke(id: number, scope: TeamScope): Promise<FleetAgentRow> {
    if (!(await this.repository.revokeInScope(id, scope))) throw agentNotFound(id);
    this.knownKeys.forgetAgent(id);
    return this.inScope(id, scope);
  }

  /**
   * Pauses (`paused`) or resumes an agent the scope may see (the scope rule of revoke). Pausing a
   * paused agent (resuming a running one) changes nothing and says so.
   */
  async setPaused(
    id: number,
    caller: AuthenticatedCaller,
    paused: boolean,
  ): Promise<AgentPauseResult> {
    const outcome = await this.repository.setPausedInScope(id, caller, paused, caller.apiKeyId);
    if (!outcome.found) throw agentNotFound(id);
    this.knownKeys.forgetAgent(id);
    if (outcome.changed) this.metrics.actionTaken('agent', paused);
    const verb = paused ? 'paused' : 'resumed';
    return {
      message: outcome.changed
        ? `Scan agent ${id} ${verb}.`
        : `Scan agent ${id} was already ${paused ? 'paused' : 'running'}.`,
      changed: outcome.changed,
      agent: await this.inScope(id, caller),
    };
  }

  private async inScope(id: number, scope: TeamScope): Promise<FleetAgentRow> {
    const [agent] = await this.repository.listInScope(scope, this.config.AGENT_ONLINE_SECONDS, id);
    if (!agent) throw agentNotFound(id);
    return agent;
  }
}

const agentNotFound = (id: number) => new NotFound(`No scan agent found with id ${id}.`);

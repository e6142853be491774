/**
 * LISTEN scanqueue_task_queued and scanqueue_agent_changed on a connection of its own (a pg Client,
 * never one of the pool's: a pooled connection would be handed to queries and lose its LISTEN),
 * reconnecting with backoff. The trigger of migration 1765800000000 notifies once per task that
 * becomes QUEUED, at commit; migration 1766000000000's once per agent key revoked or deleted.
 * While disconnected, notifications are lost: `connected` tells the owner to wake every waiter
 * and forget what it knew once the LISTEN is back.
 */
import { Client } from 'pg';
import { retryDelayMs } from '../background/backoff';

export const QUEUED_TASK_CHANNEL = 'scanqueue_task_queued';
export const AGENT_CHANGED_CHANNEL = 'scanqueue_agent_changed';

/** The trigger's payload. */
export interface QueuedTaskNotice {
  id: number;
  scanner: string;
  /** Epoch ms before which the task may not be claimed, when it has one. */
  notBefore: number | null;
}

export interface ListenerEvents {
  queued(notice: QueuedTaskNotice): void;
  /** An agent's key was revoked (or deleted). */
  agentChanged(agentId: number): void;
  /** The LISTEN is in place (the first time, or again after a loss). */
  connected(): void;
  /** The connection was lost (`error` says why). */
  disconnected(error: string): void;
}

export interface ListenerOptions {
  url: string;
  /** A silent connection (a network partition) is found by a probe this often. */
  probeIntervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export function parseNotice(payload: string | undefined): QueuedTaskNotice | undefined {
  try {
    const value = JSON.parse(payload ?? '') as Partial<QueuedTaskNotice>;
    if (typeof value.id !== 'number' || typeof value.scanner !== 'string') return undefined;
    const notBefore = typeof value.notBefore === 'number' ? value.notBefore : null;
    return { id: value.id, scanner: value.scanner, notBefore };
  } catch {
    return undefined;
  }
}

export function parseAgentNotice(payload: string | undefined): number | undefined {
  try {
    const value = (JSON.parse(payload ?? '') as { agentId?: unknown }).agentId;
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

export class QueuedTaskListener {
  private client?: Client;
  private stopped = false;
  private running?: Promise<void>;
  private wakeSleep?: () => void;
  private isConnected = false;

  constructor(
    private readonly options: ListenerOptions,
    private readonly events: ListenerEvents,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.client?.end().catch(() => undefined);
    await this.running;
  }

  private async loop(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      const error = await this.session(() => (failures = 0));
      if (this.stopped) break;
      failures++;
      if (this.isConnected) {
        this.isConnected = false;
        this.events.disconnected(error);
      }
      await this.sleep(
        retryDelayMs(failures, this.options.backoffBaseMs, this.options.backoffMaxMs),
      );
    }
    if (this.isConnected) {
      this.isConnected = false;
      this.events.disconnected('stopped');
    }
  }

  /** One connection's life: resolves with why it ended. */
  private async session(listening: () => void): Promise<string> {
    const client = new Client({
      connectionString: this.options.url,
      application_name: 'scanqueue-wakeups',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      query_timeout: 10_000,
    });
    this.client = client;
    let ended!: (reason: string) => void;
    const closed = new Promise<string>((resolve) => (ended = resolve));
    client.on('error', (error) => ended(error.message));
    client.on('end', () => ended('connection ended'));
    client.on('notification', (message) => {
      if (message.channel === AGENT_CHANGED_CHANNEL) {
        const agentId = parseAgentNotice(message.payload);
        if (agentId !== undefined) this.events.agentChanged(agentId);
        return;
      }
      const notice = message.channel === QUEUED_TASK_CHANNEL && parseNotice(message.payload);
      if (notice) this.events.queued(notice);
    });
    let probe: NodeJS.Timeout | undefined;
    try {
      await client.connect();
      await client.query(`LISTEN ${QUEUED_TASK_CHANNEL}; LISTEN ${AGENT_CHANGED_CHANNEL}`);
      if (this.stopped) return 'stopped';
      listening();
      this.isConnected = true;
      this.events.connected();
      probe = setInterval(() => {
        // sql-home: infrastructure (the listener's liveness probe, no module's data).
        client.query('SELECT 1').catch((error: Error) => ended(error.message));
      }, this.options.probeIntervalMs);
      return await closed;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      clearInterval(probe);
      await client.end().catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * Wake-ups for long-polling agents and cheap empty polls (issue 15 items 2–3): the LISTEN
 * connection (queued-task-listener.ts), the waiters (waiters.ts) and the "nothing queued" marks
 * (empty-queues.ts), tied together. requestTask uses it so:
 *
 *     const wait = wakeups.register(scanners, waitMs, departure);  // before the claim: no lost wake-up
 *     const snapshot = wakeups.snapshot();
 *     const task = wakeups.knownEmpty(scanners, scope) ? undefined : await claim();
 *     if (!task && !knownEmpty) wakeups.markEmpty(scanners, snapshot, scope);
 *     if (task) { wait.settle('claimed'); return task; }
 *     const outcome = await wait.outcome;  // 'woken': claim again (and settle), else answer none
 *
 * Every instance hears every notification and wakes one of its own waiters: a task wakes at
 * most one waiter per instance. Generic: knows scanners by name and tasks by nothing else.
 * Free of Nest (tests and benchmarks use it as is); wakeups.service.ts ties it to the app's life.
 */
import type { Registry } from 'prom-client';
import type { PollingConfig } from '../config/polling-config';
import { EmptyQueues, EVERY_SCOPE } from './empty-queues';

export { EVERY_SCOPE } from './empty-queues';
import { QueuedTaskListener, QueuedTaskNotice } from './queued-task-listener';
import { WakeupMetrics } from './wakeup-metrics';
import { Departure, Wait, Waiters, WakeOutcome } from './waiters';

export type WakeupsConfig = Pick<
  PollingConfig,
  'POLL_WAIT_MAX_SECONDS' | 'POLL_MAX_WAITERS' | 'POLL_EMPTY_CACHE_MS'
>;

/**
 * Told of an agent whose key was revoked or deleted on any instance, or `'all'` when notifications
 * may have been missed (the LISTEN connection was lost or is back).
 */
export type AgentChangedListener = (agentId: number | 'all') => void;

export interface WakeupsLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Delayed wakes held at once (tasks with a future not_before); beyond, the waits' ends heal. */
const MAX_DUE_WAKES = 10_000;
/** Farther than this, a delayed task is left to the waits' ends (setTimeout's range besides). */
const MAX_DUE_DELAY_MS = 24 * 3600 * 1000;
/** Delayed wakes of one scanner this close together share a timer. */
const DUE_GRANULARITY_MS = 100;

export class Wakeups {
  private readonly metrics: WakeupMetrics;
  private readonly waiters: Waiters;
  private readonly empty: EmptyQueues;
  private readonly listener?: QueuedTaskListener;
  private readonly dueWakes = new Map<string, NodeJS.Timeout>();
  private readonly agentListeners: AgentChangedListener[] = [];

  /** `url`: the database's; none (or POLL_WAIT_MAX_SECONDS 0) means no LISTEN. */
  constructor(
    private readonly config: WakeupsConfig,
    url: string | undefined,
    registry: Registry,
    private readonly logger: WakeupsLogger,
  ) {
    this.waiters = new Waiters(config.POLL_MAX_WAITERS, {
      ended: (outcome) => this.metrics.waitEnded(outcome),
    });
    this.empty = new EmptyQueues(config.POLL_EMPTY_CACHE_MS);
    this.metrics = new WakeupMetrics(
      registry,
      () => this.waiters.size,
      () => this.listening,
    );
    if (config.POLL_WAIT_MAX_SECONDS > 0 && url)
      this.listener = new QueuedTaskListener(
        { url, probeIntervalMs: 10_000, backoffBaseMs: 100, backoffMaxMs: 5000 },
        {
          queued: (notice) => this.queued(notice),
          agentChanged: (agentId) => this.agentChanged(agentId),
          connected: () => this.listenerConnected(),
          disconnected: (error) => this.listenerLost(error),
        },
      );
  }

  /** Whether waits are woken by notifications now (else they only end by their time). */
  get listening(): boolean {
    return this.listener?.connected ?? false;
  }

  /** Polls waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Calls `listener` for every agent key revoked or deleted on any instance (at commit), and with
   * `'all'` whenever the LISTEN connection is lost or back: what it cached may be stale then.
   */
  onAgentChanged(listener: AgentChangedListener): void {
    this.agentListeners.push(listener);
  }

  /** The wait a requestTask may ask for, cut to POLL_WAIT_MAX_SECONDS (ms). */
  waitMs(askedSeconds: number): number {
    const seconds = Number.isFinite(askedSeconds) ? askedSeconds : 0;
    return Math.max(0, Math.min(seconds, this.config.POLL_WAIT_MAX_SECONDS)) * 1000;
  }

  /**
   * Registers a wait for a task of one of `scanners` (by display name), BEFORE the claim that may
   * find none. Answered at once 'busy' beyond POLL_MAX_WAITERS, 'shutdown' while stopping.
   */
  register(scanners: readonly string[], timeoutMs: number, departure?: Departure): Wait {
    return this.waiters.register(scanners, this.capped(timeoutMs), departure);
  }

  /** `register(…).outcome`, for a caller that settles nothing (a test, a benchmark). */
  wait(
    scanners: readonly string[],
    timeoutMs: number,
    departure?: Departure,
  ): Promise<WakeOutcome> {
    return this.register(scanners, timeoutMs, departure).outcome;
  }

  /** Read before a claim; handed to `markEmpty` when the claim found nothing. */
  snapshot(): number {
    return this.empty.snapshot();
  }

  /**
   * A claim for `scanners` that saw the tasks of `scope` (EVERY_SCOPE: all of them) found none.
   * Never after a claim that could not take a task it saw (a paused agent's).
   */
  markEmpty(scanners: readonly string[], snapshot: number, scope = EVERY_SCOPE): void {
    this.empty.markEmpty(scanners, snapshot, scope);
  }

  /** True when a claim for `scanners` within `scope` would surely find nothing: skip it. */
  knownEmpty(scanners: readonly string[], scope = EVERY_SCOPE): boolean {
    return this.empty.knownEmpty(scanners, scope);
  }

  /**
   * Something other than a queued task made tasks of `scanners` (all when omitted) claimable
   * again on this instance, e.g. a scanner queue resumed: the marks go and a waiter each wakes.
   * (Another instance learns it from a NOTIFY on the channel, or within POLL_EMPTY_CACHE_MS.)
   */
  forget(scanners?: readonly string[]): void {
    this.empty.forget(scanners);
    if (!scanners) this.waiters.wakeAll();
    else for (const scanner of scanners) this.waiters.wakeOne(scanner);
  }

  /**
   * This instance committed a QUEUED task of `scanner`: its marks go now, before the NOTIFY (which
   * wakes a waiter) arrives, so the caller's next poll here cannot be answered from a stale mark.
   */
  queuedHere(scanner: string): void {
    this.empty.notified(scanner);
  }

  /** Acts as a notification for `scanner` at `at` (a delayed task becomes claimable). */
  wakeAt(scanner: string, at: number): void {
    const delay = at - Date.now();
    if (delay <= 0) return this.notified(scanner);
    if (delay > MAX_DUE_DELAY_MS || this.dueWakes.size >= MAX_DUE_WAKES) return;
    const slot = Math.ceil(at / DUE_GRANULARITY_MS) * DUE_GRANULARITY_MS;
    const key = `${slot} ${scanner}`;
    if (this.dueWakes.has(key)) return;
    const timer = setTimeout(() => {
      this.dueWakes.delete(key);
      this.notified(scanner);
    }, slot - Date.now());
    timer.unref();
    this.dueWakes.set(key, timer);
  }

  /** Opens the LISTEN connection (reconnecting by itself from then on). */
  start(): void {
    this.listener?.start();
  }

  /** Answers every waiting poll 'shutdown' and refuses new waits (before the HTTP server drains). */
  answerAll(): void {
    const answered = this.waiters.shutdown();
    if (answered > 0) this.logger.log(`Shutdown: answered ${answered} waiting polls`);
  }

  async stop(): Promise<void> {
    this.waiters.shutdown();
    for (const timer of this.dueWakes.values()) clearTimeout(timer);
    this.dueWakes.clear();
    await this.listener?.stop();
  }

  private capped(timeoutMs: number): number {
    return Math.max(0, Math.min(timeoutMs, this.config.POLL_WAIT_MAX_SECONDS * 1000));
  }

  private queued(notice: QueuedTaskNotice): void {
    if (notice.notBefore !== null && notice.notBefore > Date.now()) {
      // The marks go when it is due (checked by each poll); the timer wakes a waiter.
      this.empty.delayed(notice.scanner, notice.notBefore);
      return this.wakeAt(notice.scanner, notice.notBefore);
    }
    this.notified(notice.scanner);
  }

  private notified(scanner: string): void {
    this.empty.notified(scanner);
    this.waiters.wakeOne(scanner);
  }

  private agentChanged(agentId: number | 'all'): void {
    for (const listener of this.agentListeners) listener(agentId);
  }

  private listenerConnected(): void {
    this.empty.setConnected(true);
    this.agentChanged('all');
    // Notifications sent while no LISTEN was in place are lost: every waiter claims again.
    const woken = this.waiters.wakeAll();
    this.logger.log(
      `Listening for queued tasks${woken > 0 ? ` (woke ${woken} waiting polls)` : ''}`,
    );
  }

  private listenerLost(error: string): void {
    this.empty.setConnected(false);
    this.agentChanged('all');
    if (error !== 'stopped')
      this.logger.warn(`Lost the LISTEN connection (${error}); reconnecting`);
  }
}

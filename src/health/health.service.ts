/**
 * Readiness: can this instance serve the protocol now? The database answers and scan storage
 * takes a file. Each check is bounded in time; a check that changes state is logged once (with
 * the reason when it goes down), not on every probe.
 */
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ScanStorage } from '../storage/scan-storage';

export type CheckState = 'up' | 'down';
export interface Readiness {
  ready: boolean;
  database: CheckState;
  storage: CheckState;
}

/** Load balancers probe every few seconds; a check slower than this is as good as down. */
const CHECK_TIMEOUT_MS = 5000;

function withTimeout(work: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  return Promise.race([work.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthService {
  private readonly logger = new Logger(HealthService.name);
  private readonly lastState = new Map<string, CheckState>();
  private running?: Promise<Readiness>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
  ) {}

  database(): Promise<CheckState> {
    return this.check('database', () => this.dataSource.query('SELECT 1'));
  }

  /** Concurrent callers share one run: the route is open, and a flood must not multiply probes. */
  readiness(): Promise<Readiness> {
    this.running ??= this.checkAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkAll(): Promise<Readiness> {
    const [database, storage] = await Promise.all([
      this.database(),
      this.check('storage', () => this.storage.probe()),
    ]);
    return { ready: database === 'up' && storage === 'up', database, storage };
  }

  private async check(name: string, run: () => Promise<unknown>): Promise<CheckState> {
    let state: CheckState = 'up';
    let reason = '';
    try {
      await withTimeout(run(), name);
    } catch (error) {
      state = 'down';
      reason = `: ${String(error)}`;
    }
    const previous = this.lastState.get(name);
    this.lastState.set(name, state);
    if (state === 'down' && previous !== 'down')
      this.logger.warn(`Readiness: ${name} is down${reason}`);
    if (state === 'up' && previous === 'down') this.logger.log(`Readiness: ${name} is up again`);
    return state;
  }
}

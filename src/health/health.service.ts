/**
 * Readiness: can this instance serve the protocol now? The database answers and scan storage
 * takes a file. Each check is bounded in time; a check that changes state is logged once (with
 * the reason when it goes down), not on every probe. The routes need no key, so a result serves
 * every caller for a second: a flood of probes costs at most one query (and one storage write) a
 * second, whatever its rate.
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
/** How long a check's result answers the probes that follow it. */
export const CHECK_CACHE_MS = 1000;

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
  /** Each check's latest run (in progress or done) and when it ended. */
  private readonly recent = new Map<string, { endedAt?: number; result: Promise<unknown> }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
  ) {}

  database(): Promise<CheckState> {
    return this.recently('database', () =>
      // sql-home: infrastructure (the probe: any statement the database answers will do).
      this.check('database', () => this.dataSource.query('SELECT 1')),
    );
  }

  readiness(): Promise<Readiness> {
    return this.recently('readiness', () => this.checkAll());
  }

  /** The run of `name` in progress or ended in the last CHECK_CACHE_MS, else a new one. */
  private recently<T>(name: string, run: () => Promise<T>): Promise<T> {
    const last = this.recent.get(name);
    if (last && (last.endedAt === undefined || Date.now() - last.endedAt < CHECK_CACHE_MS))
      return last.result as Promise<T>;
    const entry: { endedAt?: number; result: Promise<T> } = { result: run() };
    void entry.result.finally(() => (entry.endedAt = Date.now())).catch(() => undefined);
    this.recent.set(name, entry);
    return entry.result;
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

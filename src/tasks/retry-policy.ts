/**
 * Automatic retries: the policy a task carries (its columns retry_limit, retry_delay_seconds,
 * retry_backoff), resolved from TASK_RETRY_POLICY (per scanner, any alias) and the queueScan
 * overrides. The retry itself is inserted by the transition that ends the attempt
 * (task-retries.repository.ts).
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { resolveScanner, ScannerType } from '../scans/scanner-types';

export interface RetryPolicy {
  /** Retries after the first attempt (0: none). */
  limit: number;
  /** Seconds before the first retry may be claimed. */
  delaySeconds: number;
  /** Whether the delay doubles with each attempt (delay × 2^(attempt-1), capped at a day). */
  backoff: boolean;
}

/** Upper bounds of a policy's fields (the columns' checks say the same). */
export const RETRY_BOUNDS = { limit: 20, delaySeconds: 86_400 } as const;

/** Today's behaviour: no retries. */
export const NO_RETRIES: RetryPolicy = { limit: 0, delaySeconds: 60, backoff: true };

@Injectable()
export class RetryPolicies implements OnModuleInit {
  private readonly byScanner = new Map<string, RetryPolicy>();
  private defaults: RetryPolicy = NO_RETRIES;

  constructor(private readonly config: AppConfig) {}

  /** Scanner keys resolve by any alias; an unknown one stops the boot with its name. */
  onModuleInit(): void {
    const { default: defaults, ...scanners } = this.config.TASK_RETRY_POLICY;
    this.defaults = { ...NO_RETRIES, ...defaults };
    for (const [name, policy] of Object.entries(scanners)) {
      const scanner = resolveScanner(name);
      if (!scanner) {
        throw new Error(
          `TASK_RETRY_POLICY: "${name}" is not a scanner (use a short name, display name or alias, or "default")`,
        );
      }
      this.byScanner.set(scanner.displayName, { ...this.defaults, ...policy });
    }
  }

  /** The scanner's policy, with the caller's overrides on top. */
  resolve(scanner: ScannerType, overrides: Partial<RetryPolicy> = {}): RetryPolicy {
    const base = this.byScanner.get(scanner.displayName) ?? this.defaults;
    return {
      limit: overrides.limit ?? base.limit,
      delaySeconds: overrides.delaySeconds ?? base.delaySeconds,
      backoff: overrides.backoff ?? base.backoff,
    };
  }
}

/**
 * Claims in batches (issue 15 item 1), as a database groups commits: a claim goes at once while
 * fewer than STATEMENTS_PER_GROUP claim statements of its group (the agents that share an API key,
 * its teams and their scanners: what one statement can serve) are running; else it waits for one
 * of them to end and goes in the next, with every claim of the group that came meanwhile (at most
 * CLAIM_BATCH_MAX). A lone agent's claim never waits; under load, one statement's fixed cost (its
 * round trip, executor start and commit) is shared: measured here, eight claims in one statement
 * ran 2.5-3 times the claims a second of eight statements (docs/performance.md). Each claim still
 * gets its own task, exactly once (TaskTransitionsRepository.claimNextTasks).
 */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { teamScopeParam } from '../auth/team-scope';
import { TaskMetrics } from './task-metrics';
import { Claim, ClaimResult, TaskTransitionsRepository } from './task-transitions.repository';

interface PendingClaim {
  claim: Claim;
  resolve(result: ClaimResult): void;
  reject(error: unknown): void;
}

/**
 * Statements of one group run at once. Two, not one: a claim that comes while one runs (a woken
 * long poll while idle agents' polls claim) need not wait a statement's time. The pickup's tail
 * (bench row 7a) is queueScan's, not the claim's: the claim that took a task ran under 5 ms in 188
 * of 200 pickups, its wait included (docs/performance.md). Beyond two, claims wait and go together.
 */
const STATEMENTS_PER_GROUP = 2;

/** A group's claims waiting for a statement, and its statements running. */
interface Group {
  pending: PendingClaim[];
  statements: number;
}

/** What one statement can serve: the same API key, teams and scanners (in order). */
function groupKey(claim: Claim): string {
  return JSON.stringify([
    claim.apiKeyId,
    teamScopeParam(claim.scope),
    claim.scanners.map((scanner) => scanner.displayName),
    claim.scanners.map((scanner) => scanner.shortName),
  ]);
}

@Injectable()
export class ClaimBatcher {
  /** Groups with a statement running; a group with none is absent. */
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly transitions: TaskTransitionsRepository,
    private readonly metrics: TaskMetrics,
  ) {}

  /** The claim's result, from a statement of its own or shared with its group's other claims. */
  claim(claim: Claim): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      const key = groupKey(claim);
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = { pending: [], statements: 0 }));
      group.pending.push({ claim, resolve, reject });
      if (group.statements < STATEMENTS_PER_GROUP) void this.drain(key, group);
    });
  }

  /** Runs the group's statements until no claim waits, each with the claims waiting when it starts. */
  private async drain(key: string, group: Group): Promise<void> {
    group.statements++;
    try {
      while (group.pending.length > 0) {
        const batch = group.pending.splice(0, this.config.CLAIM_BATCH_MAX);
        try {
          this.metrics.claimBatchObserved(batch.length);
          const results = await this.transitions.claimNextTasks(
            this.dataSource.manager,
            batch.map((pending) => pending.claim),
          );
          batch.forEach((pending, i) => pending.resolve(results[i]));
        } catch (error) {
          // Every claim of the batch fails as the statement did: going again alone could claim a
          // second task for each, should the connection have dropped after the commit. No claim's
          // own values can fail it (NUL refused at the edge, keys hashed, text columns).
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      if (--group.statements === 0) this.groups.delete(key);
    }
  }
}

/**
 * The target URL policy as the queue uses it (target-host-rules.ts has the rules): queueScan checks
 * a task's effective target (its own, else its application's URL), and the claim checks it again,
 * since the application's URL or the policy may have changed meanwhile. Schedules, when they come,
 * call the same check.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BadRestParameter } from '../rest/rest-error';
import { TargetHostRules } from './target-host-rules';

/** The reusable check of a scan's effective target (queueScan now; schedules when they come). */
@Injectable()
export class TargetUrlPolicy {
  private readonly rules: TargetHostRules;

  constructor(config: AppConfig) {
    this.rules = new TargetHostRules({
      allow: config.TARGET_URL_ALLOW,
      deny: config.TARGET_URL_DENY,
    });
  }

  /** Why the target is refused, for a message or a status row; undefined when it is allowed. */
  refusal(targetUrl: string): string | undefined {
    const refused = this.rules.refusal(targetUrl);
    return refused && `Target host ${refused.host} is not allowed: ${refused.reason}.`;
  }

  /** Throws 400 when the target may not be scanned. `what` names where it came from. */
  check(targetUrl: string, what: string): void {
    const refusal = this.refusal(targetUrl);
    if (refusal)
      throw new BadRestParameter(
        `${refusal} (${what}; an operator can allow it with TARGET_URL_ALLOW.)`,
      );
  }
}

/**
 * The agent fleet (src/scan-agents): liveness, pausing agents and scanner queues.
 */
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from './env-values';
import { TaskLifecycleConfig } from './task-lifecycle-config';

export class FleetConfig extends TaskLifecycleConfig {
  /**
   * An agent is shown online while its latest authenticated call is at most this old. Every agent
   * call is a heartbeat; an idle agent polls requestTask every few seconds.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  AGENT_ONLINE_SECONDS = 120;

  /**
   * How often one agent's last-seen time is written at most: well below the online threshold (a
   * quarter of it, at most a minute), so "online" is exact to that, yet a poll costs no UPDATE.
   */
  get agentSeenWriteSeconds(): number {
    return Math.min(60, this.AGENT_ONLINE_SECONDS / 4);
  }
}

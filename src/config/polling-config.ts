/**
 * The agents' polls (long-poll requestTask, wake-ups, pacing): src/wakeups/.
 */
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from './env-values';
import { SchedulesConfig } from './schedules-config';

export class PollingConfig extends SchedulesConfig {
  /**
   * Longest time a requestTask may wait for a task (long poll); a longer ask is cut to this.
   * 0: never wait, and open no LISTEN connection.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(300)
  POLL_WAIT_MAX_SECONDS = 30;

  /** Agents one instance lets wait at once; beyond it a poll is answered at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  POLL_MAX_WAITERS = 20_000;

  /**
   * How long "nothing queued for this scanner", learnt from an empty claim and kept by the
   * notifications, spares a claim its database round trip (0: never). A missed notification is
   * healed within this time.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  POLL_EMPTY_CACHE_MS = 5000;

  /**
   * How long an instance trusts an agent key a claim confirmed, sparing its next polls the
   * database while its scanners are known empty. Only while the LISTEN connection stands, which
   * hears every revocation at commit (migration 1766000000000); without it, API_KEY_CACHE_SECONDS.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86_400)
  AGENT_KEY_CACHE_SECONDS = 600;

  /**
   * Most claims one statement makes (src/tasks/claim-batcher.ts): while two claim statements of a
   * group of agents (same API key, teams, scanners) run, the group's next claims wait for one to
   * end and then go together. 1: every claim its own statement.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  CLAIM_BATCH_MAX = 32;

  /** Pacing: seconds an agent is told (X-Scanqueue-Poll-Interval) to wait after an immediate "No task found." (0 after a wait that ran out). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  POLL_INTERVAL_SECONDS = 5;

  /** Pacing after a poll the server refused to let wait (over POLL_MAX_WAITERS): longer. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  POLL_BUSY_INTERVAL_SECONDS = 30;
}

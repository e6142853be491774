/**
 * Events for other services and the background jobs (src/events, src/nats; docs/events.md): NATS,
 * the outbox relay, the webhooks, and the scan imports.
 */
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { emptyToUndefined, toInt } from './env-values';
import { UploadsConfig } from './uploads-config';
import { HTTP_URL_RULES } from './url-rules';

export class EventsConfig extends UploadsConfig {
  /** NATS server(s), comma-separated; when set, events go to JetStream and the request/reply patterns answer. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, {
    message: 'NATS_URL must be nats://host:port (several separated by commas)',
  })
  NATS_URL?: string;

  /** The JetStream stream the events are published to (created at boot if missing). */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'NATS_STREAM must be 1-64 letters, digits, _ or -' })
  NATS_STREAM = 'SCANQUEUE_TASKS';

  /** Prefix of every subject: events are `<prefix>task.<event>`, request/reply `<prefix>tasks.<op>`. */
  @Matches(/^([A-Za-z0-9_-]+\.)*$/, {
    message: 'NATS_SUBJECT_PREFIX must be empty or dot-separated tokens ending with a dot',
  })
  NATS_SUBJECT_PREFIX = 'scanqueue.';

  /** How often an idle relay looks for new outbox rows (it loops at once while there is a backlog). */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  OUTBOX_POLL_INTERVAL_MS = 200;

  /**
   * Outbox events older than this that owe nothing more (published, or no NATS_URL; webhooks done)
   * are deleted; 0 keeps them for ever.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(87_600)
  OUTBOX_RETENTION_HOURS = 168;

  /** Longest wait between two attempts to publish an event while NATS fails. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  OUTBOX_RETRY_MAX_MS = 30_000;

  /** Endpoints that receive every event as a signed POST, comma-separated http(s) URLs. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((url) => url.trim())
          .filter((url) => url !== '')
      : value,
  )
  @IsArray()
  @ArrayMaxSize(20)
  @IsUrl(HTTP_URL_RULES, {
    each: true,
    message: 'WEBHOOK_URLS must be http(s) URLs separated by commas',
  })
  WEBHOOK_URLS: string[] = [];

  /** HMAC-SHA256 key of X-Scanqueue-Signature; required with WEBHOOK_URLS. */
  @ValidateIf((config: EventsConfig) => config.WEBHOOK_URLS.length > 0)
  @IsString({ message: 'WEBHOOK_SECRET is required with WEBHOOK_URLS' })
  @MinLength(16)
  WEBHOOK_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** Attempts per (event, endpoint) before the delivery is marked dead. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  WEBHOOK_MAX_ATTEMPTS = 10;

  /** First retry delay; doubled per attempt (with jitter) up to OUTBOX_RETRY_MAX_MS. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  WEBHOOK_RETRY_BASE_MS = 2_000;

  /** How often an idle instance looks for queued scan imports (0: this instance runs none). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  IMPORT_POLL_INTERVAL_SECONDS = 2;

  /** Scan imports this instance runs at once (each of a different application). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(16)
  IMPORT_CONCURRENCY = 1;

  /** A running import whose heartbeat is older than this is taken over by another instance. */
  @Transform(toInt)
  @IsInt()
  @Min(3)
  @Max(3600)
  IMPORT_LEASE_SECONDS = 60;

  /**
   * NATS_URL's servers, and the user and password its URLs carry (`nats://user:password@host:4222`,
   * percent-encoded): the NATS client takes credentials as options, not from the URL.
   */
  get natsConnection(): { servers: string[]; user?: string; pass?: string } {
    const urls = (this.NATS_URL ?? '').split(',').filter((url) => url !== '');
    let user: string | undefined;
    let pass: string | undefined;
    const servers = urls.map((raw) => {
      const url = new URL(raw);
      if (url.username) user = decodeURIComponent(url.username);
      if (url.password) pass = decodeURIComponent(url.password);
      return `${url.protocol}//${url.host}`;
    });
    return {
      servers,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
    };
  }
}

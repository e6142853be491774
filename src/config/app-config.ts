/**
 * scanqueue's configuration: read once from the environment at boot and validated, so a wrong
 * value stops the start with a message that names the variable. Nothing else reads process.env.
 */
import 'reflect-metadata';
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import * as path from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  IsUrl,
  ValidateBy,
  ValidateIf,
  validateSync,
} from 'class-validator';
import { HTTP_URL_RULES } from './url-rules';
import { isHostRule } from './host-rules';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const commaSeparated = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    : value;

/** Every item a TARGET_URL_ALLOW / TARGET_URL_DENY rule (host-rules.ts). */
const AreHostRules = (name: string) =>
  ValidateBy({
    name: 'areHostRules',
    validator: {
      validate: (value: unknown) =>
        Array.isArray(value) && value.every((rule) => typeof rule === 'string' && isHostRule(rule)),
      defaultMessage: () =>
        `${name} must be comma-separated IP addresses, CIDR ranges (10.0.0.0/8, fd00::/8), host names, *.domain or *`,
    },
  });

/** proxy-addr's names for ranges, accepted in TRUST_PROXY's list. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustProxy(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const trimmed = value.trim();
  if (trimmed === 'true' || trimmed === 'false') return true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) >= 1 && Number(trimmed) <= 20;
  return trimmed.split(',').every((entry) => {
    const [address, bits, ...rest] = entry.trim().split('/');
    if (PROXY_RANGE_NAMES.has(address) && bits === undefined) return true;
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
}

const IsTrustProxy = () =>
  ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: isTrustProxy,
      defaultMessage: () =>
        'TRUST_PROXY must be true, false, a hop count (1-20) or comma-separated proxy addresses/CIDRs',
    },
  });

/** Environment variable names, as the README's configuration table lists them. */
export class AppConfig {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  HOST = '0.0.0.0';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8080;

  /** Mount point of the whole service; ThreadFix agents are configured with `…/threadfix/rest`. */
  @Matches(/^(\/[A-Za-z0-9._-]+)*$/, { message: 'CONTEXT_PATH must be empty or like /threadfix' })
  CONTEXT_PATH = '/threadfix';

  /** PostgreSQL connection URL; when unset an embedded PostgreSQL is started in DATA_DIR. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must start with postgres:// or postgresql://',
  })
  DATABASE_URL?: string;

  /** Connections this instance may open; several instances share the server's max_connections. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE = 20;

  /** Folder for the embedded database and the default scan storage. */
  @IsString()
  @MinLength(1)
  DATA_DIR = '.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  /** Where scan files are stored; defaults to DATA_DIR/scans. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  STORAGE_DIR?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_CONFIG_BYTES = 16 * 1024 * 1024;

  /** Largest form field (agentConfig, message …) and largest urlencoded/JSON body. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_FIELD_BYTES = 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_MULTIPART_FIELDS = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_MULTIPART_PARTS = 30;

  /** Default time an agent has from claim to completion (ThreadFix: 12 h). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(30 * 24 * 3600)
  TASK_TIMEOUT_SECONDS = 12 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(24 * 3600)
  REAPER_INTERVAL_SECONDS = 30;

  /** Refuse a result file whose detected scanner differs from the task's. */
  @Transform(toBool)
  @IsBoolean()
  REQUIRE_MATCHING_SCANNER = true;

  /**
   * Worker threads that check uploaded XML beside the event loop (0: on the event loop). The
   * default leaves one core to the event loop.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  UPLOAD_CHECK_WORKERS = Math.max(1, availableParallelism() - 1);

  /**
   * How long an instance trusts an API key it has just looked up (0: look up on every request).
   * Revoking evicts it at once on the instance that revoked; other instances within this time.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60)
  API_KEY_CACHE_SECONDS = 2;

  /** An upload that sends no data for this long is refused (408) and its task left as it was. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  UPLOAD_IDLE_TIMEOUT_SECONDS = 60;

  /** Longest time to receive a whole request (large uploads included). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  REQUEST_TIMEOUT_SECONDS = 3600;

  /** On SIGTERM/SIGINT: new requests are refused at once; in-flight ones get this long to finish. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  SHUTDOWN_GRACE_SECONDS = 30;

  // --- Domain bounds (docs/security.md) ---

  /**
   * Longest taskStatusUpdate message, in characters (413 above); a longer failTask reason is
   * stored cut to this length. ThreadFix had none: 8,600 messages of 64 KB made a task unreadable.
   */
  @Transform(toInt)
  @IsInt()
  @Min(64)
  @Max(1_048_576)
  STATUS_MESSAGE_MAX_CHARS = 4096;

  /**
   * Status messages an agent may post to one task (429 above; the task goes on). An agent posting
   * every 30 s for the default 12 h timeout sends 1,440.
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(1_000_000)
  STATUS_MESSAGES_PER_TASK = 5000;

  /** completeTask uploads in progress at once per agent key, per instance (429 above, before the file is read). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_CONCURRENT_UPLOADS_PER_AGENT = 2;

  /**
   * Scan uploads (completeTask and direct uploads together) in progress at once per API key, per
   * instance (429 above, before the body is read): each may hold up to MAX_UPLOAD_BYTES of
   * temporary storage. A fleet sharing one API key needs at least its agent count per instance.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  MAX_CONCURRENT_UPLOADS_PER_API_KEY = 64;

  /**
   * Hosts and ranges a scan target may name even when the default rules or TARGET_URL_DENY refuse
   * them (e.g. `127.0.0.1` on a developer's machine). Comma-separated.
   */
  @Transform(commaSeparated)
  @IsArray()
  @ArrayMaxSize(1000)
  @AreHostRules('TARGET_URL_ALLOW')
  TARGET_URL_ALLOW: string[] = [];

  /** Hosts and ranges refused as scan targets besides loopback, link-local and metadata ones. */
  @Transform(commaSeparated)
  @IsArray()
  @ArrayMaxSize(1000)
  @AreHostRules('TARGET_URL_DENY')
  TARGET_URL_DENY: string[] = [];

  /** Creates this admin API key at boot when no key with its hash exists. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'BOOTSTRAP_API_KEY must be URL-safe alphanumerics' })
  BOOTSTRAP_API_KEY?: string;

  /** Lowest level logged: fatal, error, warn, log (pino's info), debug, verbose (pino's trace). */
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  // --- Scan storage backend (docs/s3-storage.md) ---
  /** `local`: files in STORAGE_DIR; `s3`: objects in an S3-compatible bucket (the S3_* below). */
  @IsIn(['local', 's3'])
  STORAGE_BACKEND: 'local' | 's3' = 'local';

  /** Required with STORAGE_BACKEND=s3; checked at boot (HeadBucket), which fails if unreachable. */
  @Transform(emptyToUndefined)
  @ValidateIf((c: AppConfig) => c.STORAGE_BACKEND === 's3')
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message: 'S3_BUCKET is required with STORAGE_BACKEND=s3 and must be a valid bucket name',
  })
  S3_BUCKET: string | undefined = undefined;

  /** Put before every key, e.g. `scanqueue/`: empty or path segments each ending in '/'. */
  @Matches(/^([A-Za-z0-9._-]+\/)*$/, {
    message: "S3_PREFIX must be empty or like 'a/' or 'a/b/' (letters, digits, . _ -)",
  })
  S3_PREFIX = '';

  @IsString()
  @Matches(/^[a-z0-9-]{1,40}$/, { message: 'S3_REGION must be like us-east-1' })
  S3_REGION = 'us-east-1';

  /** For S3-compatible servers (MinIO, Ceph, …); unset for AWS S3. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'S3_ENDPOINT must be an http(s) URL like http://minio:9000',
  })
  S3_ENDPOINT: string | undefined = undefined;

  /** `true` for servers without virtual-host bucket names (most S3-compatible ones). */
  @Transform(toBool)
  @IsBoolean()
  S3_FORCE_PATH_STYLE = false;

  /** Static credentials, both or neither; without them the AWS default credential chain is used. */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (c: AppConfig) => c.S3_ACCESS_KEY_ID !== undefined || c.S3_SECRET_ACCESS_KEY !== undefined,
  )
  @IsString({ message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together' })
  S3_ACCESS_KEY_ID: string | undefined = undefined;

  /** Never logged; a validation message names only whether it is missing. */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (c: AppConfig) => c.S3_ACCESS_KEY_ID !== undefined || c.S3_SECRET_ACCESS_KEY !== undefined,
  )
  @IsString({ message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together' })
  S3_SECRET_ACCESS_KEY: string | undefined = undefined;
  // --- end of scan storage backend ---

  /** Serve Prometheus metrics at CONTEXT_PATH/metrics, without an API key (docs/operations.md). */
  @Transform(toBool)
  @IsBoolean()
  METRICS_ENABLED = true;

  /** Names this instance's temporary upload files in a storage folder several instances share. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'INSTANCE_ID must be 1-64 letters, digits, _ or -' })
  INSTANCE_ID?: string;

  // --- Events for other services (src/events, src/nats; docs/events.md) ---

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
  @ValidateIf((config: AppConfig) => config.WEBHOOK_URLS.length > 0)
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

  // --- The HTTP edge: body timeout, rate limits, proxies, Swagger UI (docs/security.md, "Edge bounds") ---

  /**
   * Longest time to receive a request's headers and, on every route but the uploads (UPLOAD_ROUTES
   * in src/edge/upload-routes.ts), its body. Uploads are read only after authentication, under
   * UPLOAD_IDLE_TIMEOUT_SECONDS and REQUEST_TIMEOUT_SECONDS.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(600)
  BODY_TIMEOUT_SECONDS = 10;

  /** Requests per minute per API key (by key id), shared by all instances; 0 = off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 6000;

  /**
   * Requests per minute per client address (an IPv6 address by its /64), counted before the key is
   * looked up and shared by all instances; 0 = off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE = 6000;

  /** Addresses and keys whose counts an instance keeps in memory; the shared store keeps the rest. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000_000)
  RATE_LIMIT_MAX_BUCKETS = 100_000;

  /** Where instances share their rate-limit counts; unset: in PostgreSQL. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, {
    message: 'REDIS_URL must be redis://[user:password@]host:port[/db] (or rediss://)',
  })
  REDIS_URL?: string;

  /**
   * Which X-Forwarded-For hops to believe for the client address: false (default: the TCP peer),
   * true (every hop: only when the proxy overwrites the header), a hop count, or the proxies'
   * addresses/CIDRs (comma-separated; also loopback, linklocal, uniquelocal).
   */
  @IsTrustProxy()
  TRUST_PROXY = 'false';

  /** Swagger UI keeps an authorized key in the browser's localStorage across reloads. */
  @Transform(toBool)
  @IsBoolean()
  SWAGGER_PERSIST_AUTHORIZATION = false;

  /** Fastify's trustProxy from TRUST_PROXY: a hop count believes that many hops from the server. */
  get trustProxy(): boolean | string | ((address: string, hop: number) => boolean) {
    const value = this.TRUST_PROXY.trim();
    if (value === 'true' || value === 'false') return value === 'true';
    if (/^\d+$/.test(value)) return (_address, hop) => hop < Number(value);
    return value;
  }
  // --- end of the HTTP edge ---

  get instanceId(): string {
    return (
      this.INSTANCE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '_')
        .slice(0, 48)}-${this.PORT}`
    );
  }

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

  get storageDir(): string {
    return path.resolve(this.STORAGE_DIR ?? path.join(this.DATA_DIR, 'scans'));
  }

  get embeddedDatabaseDir(): string {
    return path.resolve(this.DATA_DIR, 'postgres');
  }
}

export class ConfigError extends Error {}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const raw: Record<string, unknown> = {};
  for (const name of [
    ...known,
    'DATABASE_URL',
    'STORAGE_DIR',
    'BOOTSTRAP_API_KEY',
    'INSTANCE_ID',
    'NATS_URL',
    'WEBHOOK_SECRET',
    'REDIS_URL',
  ]) {
    if (env[name] !== undefined) raw[name] = env[name];
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: false });
  if (errors.length > 0) {
    // The message is logged: a key, or a URL that may hold a password, is named but not shown.
    const shown = (name: string) =>
      /KEY|SECRET|PASSWORD|_URL$/.test(name) ? '(not shown)' : JSON.stringify(raw[name]);
    const lines = errors.map(
      (e) => `${e.property}=${shown(e.property)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return config;
}

/**
 * scanqueue's configuration: read once from the environment at boot and validated, so a wrong
 * value stops the start with a message that names the variable. Nothing else reads process.env.
 *
 * AppConfig is assembled room by room, each file adding its variables to the one before:
 * http-config.ts → database-config.ts → storage-config.ts → uploads-config.ts → events-config.ts →
 * task-lifecycle-config.ts → fleet-config.ts → schedules-config.ts → polling-config.ts →
 * here (the tasks' bounds, keys, logs, metrics). One class, validated at boot by loadAppConfig.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
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
  Min,
  MinLength,
  ValidateBy,
  validateSync,
} from 'class-validator';
import { commaSeparated, emptyToUndefined, toBool, toInt } from './env-values';
import { PollingConfig } from './polling-config';
import { isHostRule } from './host-rules';

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

/** Environment variable names, as the README's configuration table lists them. */
export class AppConfig extends PollingConfig {
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

  /**
   * How long an instance trusts an API key it has just looked up (0: look up on every request).
   * Revoking evicts it at once on the instance that revoked; other instances within this time.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60)
  API_KEY_CACHE_SECONDS = 2;

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

  /** Serve Prometheus metrics at CONTEXT_PATH/metrics, without an API key (docs/operations.md). */
  @Transform(toBool)
  @IsBoolean()
  METRICS_ENABLED = true;

  /** Names this instance's temporary upload files in a storage folder several instances share. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'INSTANCE_ID must be 1-64 letters, digits, _ or -' })
  INSTANCE_ID?: string;

  get instanceId(): string {
    return (
      this.INSTANCE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '_')
        .slice(0, 48)}-${this.PORT}`
    );
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
    // In the order the variables are declared, room by room (Object.keys of a new AppConfig).
    errors.sort((a, b) => known.indexOf(a.property) - known.indexOf(b.property));
    const lines = errors.map(
      (e) => `${e.property}=${shown(e.property)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return config;
}

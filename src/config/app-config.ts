/**
 * scanqueue's configuration: read once from the environment at boot and validated, so a wrong
 * value stops the start with a message that names the variable. Nothing else reads process.env.
 */
import 'reflect-metadata';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
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
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

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

  /** Requests per minute per API key (per client address without one), per instance; 0 = off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 6000;

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

  /** Creates this admin API key at boot when no key with its hash exists. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'BOOTSTRAP_API_KEY must be URL-safe alphanumerics' })
  BOOTSTRAP_API_KEY?: string;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  /** Names this instance's temporary upload files in a storage folder several instances share. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'INSTANCE_ID must be 1-64 letters, digits, _ or -' })
  INSTANCE_ID?: string;

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

  get instanceId(): string {
    return (
      this.INSTANCE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_-]/g, '_')
        .slice(0, 48)}-${this.PORT}`
    );
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
  ]) {
    if (env[name] !== undefined) raw[name] = env[name];
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) =>
        `${e.property}=${JSON.stringify(raw[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return config;
}

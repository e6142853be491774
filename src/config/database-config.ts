/** The database: PostgreSQL at DATABASE_URL, or the embedded one in DATA_DIR. */
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { emptyToUndefined, toInt } from './env-values';
import { HttpConfig } from './http-config';

/** Connections beyond a few per core only queue for the cores (and the server's locks). */
export function defaultPoolSize(cores = availableParallelism()): number {
  return Math.max(4, Math.min(20, 3 * cores));
}

export class DatabaseConfig extends HttpConfig {
  /** PostgreSQL connection URL; when unset an embedded PostgreSQL is started in DATA_DIR. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must start with postgres:// or postgresql://',
  })
  DATABASE_URL?: string;

  /**
   * Connections this instance may open; several instances share the server's max_connections.
   * Default: 3 per core of this machine, 4 to 20 (issue 15: on 2 cores 6 beat 20, p99 / 2.8).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE = defaultPoolSize();

  /** Folder for the embedded database and the default scan storage. */
  @IsString()
  @MinLength(1)
  DATA_DIR = '.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  get embeddedDatabaseDir(): string {
    return path.resolve(this.DATA_DIR, 'postgres');
  }
}

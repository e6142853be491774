/** The database: PostgreSQL at DATABASE_URL, or the embedded one in DATA_DIR. */
import * as path from 'node:path';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { emptyToUndefined, toInt } from './env-values';
import { HttpConfig } from './http-config';

export class DatabaseConfig extends HttpConfig {
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

  get embeddedDatabaseDir(): string {
    return path.resolve(this.DATA_DIR, 'postgres');
  }
}

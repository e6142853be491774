/** Where scan files are stored: a local folder, or an S3-compatible bucket (docs/s3-storage.md). */
import * as path from 'node:path';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { emptyToUndefined, toBool } from './env-values';
import { DatabaseConfig } from './database-config';

export class StorageConfig extends DatabaseConfig {
  /** Where scan files are stored; defaults to DATA_DIR/scans. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  STORAGE_DIR?: string;

  /** `local`: files in STORAGE_DIR; `s3`: objects in an S3-compatible bucket (the S3_* below). */
  @IsIn(['local', 's3'])
  STORAGE_BACKEND: 'local' | 's3' = 'local';

  /** Required with STORAGE_BACKEND=s3; checked at boot (HeadBucket), which fails if unreachable. */
  @Transform(emptyToUndefined)
  @ValidateIf((c: StorageConfig) => c.STORAGE_BACKEND === 's3')
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
    (c: StorageConfig) => c.S3_ACCESS_KEY_ID !== undefined || c.S3_SECRET_ACCESS_KEY !== undefined,
  )
  @IsString({ message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together' })
  S3_ACCESS_KEY_ID: string | undefined = undefined;

  /** Never logged; a validation message names only whether it is missing. */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (c: StorageConfig) => c.S3_ACCESS_KEY_ID !== undefined || c.S3_SECRET_ACCESS_KEY !== undefined,
  )
  @IsString({ message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together' })
  S3_SECRET_ACCESS_KEY: string | undefined = undefined;

  get storageDir(): string {
    return path.resolve(this.STORAGE_DIR ?? path.join(this.DATA_DIR, 'scans'));
  }
}

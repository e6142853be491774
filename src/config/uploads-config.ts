/** Uploads: the bounds of a result file and its form, the XML check's workers, the concurrency caps. */
import { availableParallelism } from 'node:os';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { toBool, toInt } from './env-values';
import { StorageConfig } from './storage-config';

export class UploadsConfig extends StorageConfig {
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

  /**
   * Worker threads that check uploaded XML beside the event loop (0: on the event loop). The
   * default leaves one core to the event loop.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  UPLOAD_CHECK_WORKERS = Math.max(1, availableParallelism() - 1);

  /** Refuse a result file whose detected scanner differs from the task's. */
  @Transform(toBool)
  @IsBoolean()
  REQUIRE_MATCHING_SCANNER = true;

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
}

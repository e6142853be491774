/**
 * Scan-file storage: the local folder or an S3-compatible bucket (STORAGE_BACKEND), checked and
 * cleaned of a crash's incomplete uploads at boot, before any upload is accepted.
 */
import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { LocalFolderScanStorage } from './local-folder-scan-storage';
import { createS3Client, S3ScanStorage } from './s3-scan-storage';
import { ScanStorage } from './scan-storage';

function createStorage(config: AppConfig): ScanStorage {
  if (config.STORAGE_BACKEND === 'local')
    return new LocalFolderScanStorage(config.storageDir, config.instanceId);
  const bucket = config.S3_BUCKET as string; // required with s3 by the config's validation
  return new S3ScanStorage({
    client: createS3Client({
      bucket,
      prefix: config.S3_PREFIX,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    }),
    bucket,
    prefix: config.S3_PREFIX,
    instanceId: config.instanceId,
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    warn: (message) => new Logger('S3ScanStorage').warn(message),
  });
}

@Global()
@Module({
  providers: [
    {
      provide: ScanStorage,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<ScanStorage> => {
        const storage = createStorage(config);
        if (storage instanceof S3ScanStorage) await storage.checkBucket();
        const removed = await storage.cleanupIncomplete();
        if (removed > 0)
          new Logger('ScanStorage').warn(
            `Removed ${removed} incomplete upload(s) left by an earlier run`,
          );
        return storage;
      },
    },
  ],
  exports: [ScanStorage],
})
export class StorageModule {}

/** Scan-file storage: the local folder backend, cleaned of a crash's temporary files at boot. */
import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { LocalFolderScanStorage } from './local-folder-scan-storage';
import { ScanStorage } from './scan-storage';

@Global()
@Module({
  providers: [
    {
      provide: ScanStorage,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<ScanStorage> => {
        const storage = new LocalFolderScanStorage(config.storageDir, config.instanceId);
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

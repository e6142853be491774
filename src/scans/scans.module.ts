/**
 * Scans: the result files completed tasks and direct uploads stored, listed and downloaded per
 * application, and the one path a scan file takes into storage (scan-upload.ts).
 */
import { Module } from '@nestjs/common';
import { BackgroundModule } from '../background/background.module';
import { DirectUploadsService } from './direct-uploads.service';
import { ScanIntake } from './scan-upload';
import { ScansController } from './scans.controller';
import { ScanXmlCheckPool } from './scan-xml-check.pool';
import { ScansService } from './scans.service';
import { ThreadFixScansController } from './threadfix-scans.controller';
import { ThreadFixScansService } from './threadfix-scans.service';
import { UploadSlots } from './upload-slots';

@Module({
  imports: [BackgroundModule],
  controllers: [ScansController, ThreadFixScansController],
  providers: [
    ScansService,
    ScanXmlCheckPool,
    ScanIntake,
    DirectUploadsService,
    ThreadFixScansService,
    UploadSlots,
  ],
  exports: [ScansService, ScanXmlCheckPool, ScanIntake, UploadSlots],
})
export class ScansModule {}

/**
 * Scans: the result files completed tasks and direct uploads stored, listed and downloaded per
 * application, and the one path a scan file takes into storage (scan-upload.ts).
 */
import { Module } from '@nestjs/common';
import { BackgroundModule } from '../background/background.module';
import { DirectUploadsService } from './direct-uploads.service';
import { ScanUploadsRepository } from './scan-uploads.repository';
import { ScanIntake } from './scan-upload';
import { ScanUploadForm } from './scan-upload-form';
import { ScansController } from './scans.controller';
import { ScanXmlCheckPool } from './scan-xml-check.pool';
import { ScansRepository } from './scans.repository';
import { ScansService } from './scans.service';
import { ThreadFixScansController } from './threadfix-scans.controller';
import { ThreadFixScansService } from './threadfix-scans.service';
import { UploadSlots } from './upload-slots';

@Module({
  imports: [BackgroundModule],
  controllers: [ScansController, ThreadFixScansController],
  providers: [
    ScansService,
    ScansRepository,
    ScanXmlCheckPool,
    ScanIntake,
    ScanUploadForm,
    DirectUploadsService,
    ScanUploadsRepository,
    ThreadFixScansService,
    UploadSlots,
  ],
  // The NATS patterns serve the scan details and the pending-scan status too.
  exports: [
    ScansService,
    ScanXmlCheckPool,
    ScanIntake,
    ScanUploadForm,
    UploadSlots,
    ThreadFixScansService,
    DirectUploadsService,
  ],
})
export class ScansModule {}

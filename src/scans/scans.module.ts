/** Scans: the result files completed tasks stored, listed and downloaded per application. */
import { Module } from '@nestjs/common';
import { ScansController } from './scans.controller';
import { ScanXmlCheckPool } from './scan-xml-check.pool';
import { ScansService } from './scans.service';

@Module({
  controllers: [ScansController],
  providers: [ScansService, ScanXmlCheckPool],
  exports: [ScansService, ScanXmlCheckPool],
})
export class ScansModule {}

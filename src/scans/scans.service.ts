/** Scans: result files stored for an application by completed tasks. */
import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DataSource, EntityManager } from 'typeorm';
import { NotFound } from '../rest/rest-error';
import { ScanStorage } from '../storage/scan-storage';
import { ScanEntity } from './scan.entity';

export interface NewScan {
  applicationId: number;
  taskId: number;
  scanner: string;
  originalFilename: string;
  sizeBytes: number;
  sha256: string;
  storageKey: string;
}

@Injectable()
export class ScansService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: ScanStorage,
  ) {}

  async record(tx: EntityManager, scan: NewScan): Promise<ScanEntity> {
    return tx.save(
      tx.create(ScanEntity, {
        ...scan,
        originalFilename: scan.originalFilename.slice(0, 255),
        sizeBytes: String(scan.sizeBytes),
      }),
    );
  }

  listForApplication(applicationId: number): Promise<ScanEntity[]> {
    return this.dataSource
      .getRepository(ScanEntity)
      .find({ where: { applicationId }, order: { id: 'ASC' } });
  }

  async get(applicationId: number, scanId: number): Promise<ScanEntity> {
    const scan = await this.dataSource
      .getRepository(ScanEntity)
      .findOneBy({ id: scanId, applicationId });
    if (!scan) throw new NotFound(`No scan ${scanId} found for application ${applicationId}.`);
    return scan;
  }

  async openFile(
    applicationId: number,
    scanId: number,
  ): Promise<{ scan: ScanEntity; stream: Readable }> {
    const scan = await this.get(applicationId, scanId);
    return { scan, stream: await this.storage.openRead(scan.storageKey) };
  }
}

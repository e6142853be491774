/** Scan-agent configs: setTaskConfig (ThreadFix's) and the admin's list of an application's configs. */
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApplicationNotFound } from '../applications/applications.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { TeamScope } from '../auth/team-scope';
import { BadRestParameter } from '../rest/rest-error';
import { resolveScanner } from '../scans/scanner-types';
import { ScanConfigDto, toScanConfigDto } from './scan-config.dto';
import { TaskAccess } from './task-access';
import { ConfigFile } from './task-forms';
import { SetTaskConfigParams } from './task-params.dto';
import { TasksRepository } from './tasks.repository';
import { badScannerType, FILE_MISSING } from './task-wording';

@Injectable()
export class ScanConfigsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: TaskAccess,
    private readonly tasks: TasksRepository,
  ) {}

  /**
   * setTaskConfig: replaces the application's config for the scanner (newest wins, one row, its id
   * kept). Answers ThreadFix's message, and the config's id for the response header.
   */
  async setTaskConfig(
    caller: AuthenticatedCaller,
    params: SetTaskConfigParams,
    file: ConfigFile | undefined,
  ): Promise<{ message: string; scanConfigId: number }> {
    const scanner = resolveScanner(params.scannerType);
    if (!scanner) throw badScannerType(params.scannerType, ' Will not save scan config.');
    if (!file) throw new BadRestParameter(FILE_MISSING);
    if (file.content.length === 0) throw new BadRestParameter('The uploaded config file is empty.');
    const scanConfigId = await this.dataSource.transaction(async (tx) => {
      const app = await this.access.activeApplication(tx, params.appId, caller);
      return this.tasks.upsertScanConfig(tx, {
        applicationId: app.id,
        scannerShortName: scanner.shortName,
        contentType: file.contentType || 'application/octet-stream',
        content: file.content,
        originalFilename: file.filename || null,
        uploadedByApiKeyId: caller.apiKeyId,
      });
    });
    return {
      message: `Scan configuration for scanner: ${params.scannerType} saved for appId: ${params.appId}`,
      scanConfigId,
    };
  }

  /** An application's scan configs (active or not), without their content. */
  async listScanConfigs(scope: TeamScope, applicationId: number): Promise<ScanConfigDto[]> {
    const manager = this.dataSource.manager;
    if (!(await this.tasks.applicationInScope(manager, applicationId, scope)))
      throw new ApplicationNotFound(applicationId);
    return (await this.tasks.listScanConfigs(manager, applicationId)).map(toScanConfigDto);
  }
}

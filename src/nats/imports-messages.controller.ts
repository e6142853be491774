/**
 * What the imports found, over NATS: each pattern through its REST route's service
 * (imports.controller.ts), behind the same rule (who may read an application's scans) and team
 * scope; the comment names the route.
 */
import { MessagePattern } from '@nestjs/microservices';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { FindingPageDto, ScanImportDto, VulnerabilityPageDto } from '../imports/imports.dto';
import { ImportsService } from '../imports/imports.service';
import { ServiceCaller } from './service-key.guard';
import {
  ScanFindingsMessage,
  ScanImportMessage,
  VulnerabilitiesMessage,
} from './service-messages.dto';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
@RequireAccess(ACCESS.scanRead)
export class ImportsMessagesController {
  constructor(private readonly imports: ImportsService) {}

  /** GET rest/applications/:applicationId/vulnerabilities */
  @MessagePattern('vulnerabilities.list')
  vulnerabilities(
    @ServiceCaller() caller: Caller,
    @Message() { applicationId, ...params }: VulnerabilitiesMessage,
  ): Promise<VulnerabilityPageDto> {
    return this.imports.listVulnerabilities(caller, applicationId, params);
  }

  /** GET rest/applications/:applicationId/scans/:scanId/findings */
  @MessagePattern('scans.findings')
  findings(
    @ServiceCaller() caller: Caller,
    @Message() { applicationId, scanId, ...params }: ScanFindingsMessage,
  ): Promise<FindingPageDto> {
    return this.imports.listFindings(caller, applicationId, scanId, params);
  }

  /** GET rest/applications/:applicationId/scans/:scanId/import */
  @MessagePattern('scans.import')
  scanImport(
    @ServiceCaller() caller: Caller,
    @Message() params: ScanImportMessage,
  ): Promise<ScanImportDto> {
    return this.imports.getImport(caller, params.applicationId, params.scanId);
  }
}

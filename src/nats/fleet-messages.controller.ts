/**
 * Fleet control over NATS: pausing and resuming agents and scanner queues, and the queues' view.
 * Each pattern through its REST route's service, behind its rule and team scope; the comment names
 * the route. (The agent list and revoke are in tasks-messages.controller.ts.)
 */
import { MessagePattern } from '@nestjs/microservices';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ScanAgentPauseDto, toPauseDto } from '../scan-agents/scan-agent.dto';
import { ScanAgentsService } from '../scan-agents/scan-agents.service';
import {
  ScannerNameParams,
  ScannerQueueDto,
  ScannerQueuePauseDto,
  toScannerQueueDto,
  toScannerQueuePauseDto,
} from '../scanner-queues/scanner-queue.dto';
import { ScannerQueuesService } from '../scanner-queues/scanner-queues.service';
import { ServiceCaller } from './service-key.guard';
import { IdMessage } from './service-messages.dto';
import { Message, ServicePatterns } from './service-patterns';

type Caller = AuthenticatedCaller;

@ServicePatterns()
export class FleetMessagesController {
  constructor(
    private readonly agents: ScanAgentsService,
    private readonly queues: ScannerQueuesService,
  ) {}

  /** POST rest/scan-agents/:id/pause */
  @MessagePattern('agents.pause')
  @RequireAccess(ACCESS.queueAdmin)
  async agentPause(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ScanAgentPauseDto> {
    return toPauseDto(await this.agents.setPaused(params.id, caller, true));
  }

  /** POST rest/scan-agents/:id/resume */
  @MessagePattern('agents.resume')
  @RequireAccess(ACCESS.queueAdmin)
  async agentResume(
    @ServiceCaller() caller: Caller,
    @Message() params: IdMessage,
  ): Promise<ScanAgentPauseDto> {
    return toPauseDto(await this.agents.setPaused(params.id, caller, false));
  }

  /** GET rest/scanner-queues */
  @MessagePattern('scannerQueues.list')
  @RequireAccess(ACCESS.queueRead)
  async queueList(@ServiceCaller() caller: Caller): Promise<ScannerQueueDto[]> {
    return (await this.queues.list(caller)).map(toScannerQueueDto);
  }

  /** POST rest/scanner-queues/:scanner/pause */
  @MessagePattern('scannerQueues.pause')
  @RequireAccess(ACCESS.queueAdmin)
  async queuePause(
    @ServiceCaller() caller: Caller,
    @Message() params: ScannerNameParams,
  ): Promise<ScannerQueuePauseDto> {
    return toScannerQueuePauseDto(await this.queues.setPaused(caller, params.scanner, true));
  }

  /** POST rest/scanner-queues/:scanner/resume */
  @MessagePattern('scannerQueues.resume')
  @RequireAccess(ACCESS.queueAdmin)
  async queueResume(
    @ServiceCaller() caller: Caller,
    @Message() params: ScannerNameParams,
  ): Promise<ScannerQueuePauseDto> {
    return toScannerQueuePauseDto(await this.queues.setPaused(caller, params.scanner, false));
  }
}

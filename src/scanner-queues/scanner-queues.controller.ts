import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthenticatedCaller, Caller } from '../auth/authenticated-caller';
import { ACCESS } from '../auth/permission';
import { RequireAccess } from '../auth/require-permission.decorator';
import { ApiEnvelope } from '../rest/api-envelope.decorator';
import { RestPost } from '../rest/rest-post.decorator';
import {
  ScannerQueueDto,
  ScannerQueuePauseDto,
  toScannerQueueDto,
  toScannerQueuePauseDto,
} from './scanner-queue.dto';
import { ScannerQueuesService } from './scanner-queues.service';

const SCANNER_PARAM = {
  name: 'scanner',
  description: 'Short name, display name or alias (zap, "OWASP Zed Attack Proxy", ZAP …)',
  example: 'zap',
};

/** Fleet control of scanner queues (not in ThreadFix). */
@ApiTags('scanner-queues')
@Controller('rest/scanner-queues')
export class ScannerQueuesController {
  constructor(private readonly queues: ScannerQueuesService) {}

  @Get()
  @ApiOperation({
    summary: "Each scanner's queue: paused or not, its queued tasks and the oldest one's age",
  })
  @RequireAccess(ACCESS.queueRead)
  @ApiEnvelope(ScannerQueueDto, { isArray: true })
  async list(@Caller() caller: AuthenticatedCaller): Promise<ScannerQueueDto[]> {
    return (await this.queues.list(caller)).map(toScannerQueueDto);
  }

  @RestPost(':scanner/pause')
  @ApiOperation({
    summary: "Pause a scanner's queue: none of its tasks is handed out (queueScan still queues)",
    description:
      'Affects every team: needs an API key not limited to teams (403 otherwise). Pausing a paused queue changes nothing (changed: false). Raises fleet.queue_paused.',
  })
  @ApiParam(SCANNER_PARAM)
  @RequireAccess(ACCESS.queueAdmin)
  @ApiEnvelope(ScannerQueuePauseDto, { failures: [404] })
  async pause(
    @Caller() caller: AuthenticatedCaller,
    @Param('scanner') scanner: string,
  ): Promise<ScannerQueuePauseDto> {
    return toScannerQueuePauseDto(await this.queues.setPaused(caller, scanner, true));
  }

  @RestPost(':scanner/resume')
  @ApiOperation({
    summary: "Resume a scanner's queue: its tasks are handed out again",
    description:
      'Needs an API key not limited to teams (403 otherwise). Resuming an open queue changes nothing (changed: false). Raises fleet.queue_resumed.',
  })
  @ApiParam(SCANNER_PARAM)
  @RequireAccess(ACCESS.queueAdmin)
  @ApiEnvelope(ScannerQueuePauseDto, { failures: [404] })
  async resume(
    @Caller() caller: AuthenticatedCaller,
    @Param('scanner') scanner: string,
  ): Promise<ScannerQueuePauseDto> {
    return toScannerQueuePauseDto(await this.queues.setPaused(caller, scanner, false));
  }
}

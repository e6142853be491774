import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { IsRequired } from '../rest/param-rules';
import type { ScannerQueuePauseResult, ScannerQueueView } from './scanner-queues.service';

/** A scanner's queue: whether it is paused, and its QUEUED tasks in the caller's teams. */
export class ScannerQueueDto {
  @ApiProperty({ example: 'zap' }) scanner!: string;
  @ApiProperty({ example: 'OWASP Zed Attack Proxy' }) displayName!: string;
  @ApiProperty({
    description: 'Paused: no task of this scanner is handed out; queueScan still queues',
  })
  paused!: boolean;
  @ApiProperty({ nullable: true, type: Number, description: 'epoch ms' }) pausedTime!:
    number | null;
  @ApiProperty({ description: "QUEUED tasks of the caller's teams" }) queued!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Seconds the oldest of them has waited (null when none waits)',
  })
  oldestQueuedAgeSeconds!: number | null;
}

/** The answer of a pause or resume: the queue after it, and whether it changed anything. */
export class ScannerQueuePauseDto {
  @ApiProperty({ example: 'Queue of OWASP Zed Attack Proxy paused.' }) message!: string;
  @ApiProperty({ description: 'false when the queue already was paused (or open)' })
  changed!: boolean;
  @ApiProperty({ type: ScannerQueueDto }) queue!: ScannerQueueDto;
}

/** The scanner a NATS pause or resume names (the REST route's path parameter). */
export class ScannerNameParams {
  @IsRequired('scanner')
  @IsString({ message: 'scanner must be a string.' })
  @MaxLength(100, { message: 'scanner must be at most 100 characters.' })
  scanner!: string;
}

export function toScannerQueueDto({ scanner, row }: ScannerQueueView): ScannerQueueDto {
  return {
    scanner: scanner.shortName,
    displayName: scanner.displayName,
    paused: row.paused_at !== null,
    pausedTime: row.paused_at?.getTime() ?? null,
    queued: row.queued,
    oldestQueuedAgeSeconds:
      row.oldest_age_seconds === null ? null : Math.max(0, Math.floor(row.oldest_age_seconds)),
  };
}

export function toScannerQueuePauseDto(result: ScannerQueuePauseResult): ScannerQueuePauseDto {
  return {
    message: result.message,
    changed: result.changed,
    queue: toScannerQueueDto(result.queue),
  };
}

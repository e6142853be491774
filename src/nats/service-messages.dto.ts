/** Payloads of the NATS request/reply patterns that have no REST parameter class of their own. */
import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { IsInt, Max, Min } from 'class-validator';
import { IsRequired, ToInt } from '../rest/param-rules';
import { BadRestParameter } from '../rest/rest-error';
import { validateParams } from '../rest/rest-params';
import { UnreadablePayload } from './service-transport';

const MAX_ID = 2147483647;

export class TaskIdMessage {
  @ToInt()
  @IsRequired('id')
  @IsInt({ message: 'id must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  id!: number;
}

export class ApplicationScansMessage {
  @ToInt()
  @IsRequired('applicationId')
  @IsInt({ message: 'applicationId must be an integer.' })
  @Min(1)
  @Max(MAX_ID)
  applicationId!: number;
}

/** Validates a payload against its class with the REST validation rules (and their messages). */
@Injectable()
export class ServicePayloadPipe implements PipeTransform {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (value instanceof UnreadablePayload)
      throw new BadRestParameter('The message is not valid JSON.');
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new BadRestParameter('The message must be a JSON object.');
    if (!metadata.metatype) return value;
    return validateParams(metadata.metatype as new () => object, value as Record<string, unknown>);
  }
}

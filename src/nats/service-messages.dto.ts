/** Payloads of the NATS request/reply patterns that have no REST parameter class of their own. */
import { applyDecorators, ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { UpdateApplicationDto } from '../applications/application.dto';
import {
  ApplicationLookupParams,
  CreateTeamApplicationParams,
  UpdateThreadFixApplicationParams,
} from '../applications/threadfix-application.dto';
import { ListVulnerabilitiesParams, PageParams } from '../imports/imports.dto';
import { IsRequired, ToInt } from '../rest/param-rules';
import { ScanDetailsParams } from '../scans/threadfix-scan.dto';
import { TaskHistoryParams } from '../tasks/task-params.dto';
import { TeamNameParams } from '../teams/team.dto';
import { validateParams } from '../rest/rest-params';
import { payloadObject } from './service-wire';

const MAX_ID = 2147483647;

/** A REST path id as a message field: a positive int4, with the REST route's messages. */
const IdField = (name: string): PropertyDecorator =>
  applyDecorators(
    ToInt(),
    IsRequired(name),
    IsInt({ message: `${name} must be an integer.` }),
    Min(1),
    Max(MAX_ID),
  );

/** The id of a task, an agent, an application, an API key (`rest/<things>/:id`). */
export class IdMessage {
  @IdField('id') id!: number;
}

export class TaskIdMessage extends IdMessage {}

export class ApplicationIdMessage {
  @IdField('applicationId') applicationId!: number;
}

/** Kept for its pattern's name: applications.scans takes an application id. */
export class ApplicationScansMessage extends ApplicationIdMessage {}

export class TaskHistoryMessage extends TaskHistoryParams {
  @IdField('id') id!: number;
}

export class TeamIdMessage {
  @IdField('teamId') teamId!: number;
}

export class TeamUpdateMessage extends TeamNameParams {
  @IdField('teamId') teamId!: number;
}

export class ApplicationUpdateMessage extends UpdateApplicationDto {
  @IdField('id') id!: number;
}

export class ScanDetailsMessage extends ScanDetailsParams {
  @IdField('scanId') scanId!: number;
}

export class PendingScanMessage {
  @IdField('applicationId') applicationId!: number;
  @IdField('pendingScanId') pendingScanId!: number;
}

export class TeamApplicationCreateMessage extends CreateTeamApplicationParams {
  @IdField('teamId') teamId!: number;
}

/** `teamName` is the REST path's segment, as given (no percent-encoding to undo). */
export class ApplicationLookupMessage extends ApplicationLookupParams {
  @IsRequired('teamName')
  @IsString({ message: 'teamName must be one string.' })
  @MaxLength(10_000)
  teamName!: string;
}

export class ThreadFixApplicationUpdateMessage extends UpdateThreadFixApplicationParams {
  @IdField('applicationId') applicationId!: number;
}

export class VulnerabilitiesMessage extends ListVulnerabilitiesParams {
  @IdField('applicationId') applicationId!: number;
}

export class ScanFindingsMessage extends PageParams {
  @IdField('applicationId') applicationId!: number;
  @IdField('scanId') scanId!: number;
}

export class ScanImportMessage extends ApplicationIdMessage {
  @IdField('scanId') scanId!: number;
}

/** Validates a payload against its class with the REST validation rules (and their messages). */
@Injectable()
export class ServicePayloadPipe implements PipeTransform {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const payload = payloadObject(value);
    if (!metadata.metatype) return payload;
    return validateParams(metadata.metatype as new () => object, payload);
  }
}

/**
 * The tasks API's small multipart forms, read into validated parameters (rest/multipart-params.ts):
 * requestTask's (its agentConfig may be a file part) and setTaskConfig's (a config file, in memory).
 */
import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import type { MaybePromise } from '../async/maybe-promise';
import { AppConfig } from '../config/app-config';
import { MultipartLimits, readSmallFile } from '../rest/multipart-form';
import { readMultipartParams } from '../rest/multipart-params';
import { validateParams } from '../rest/rest-params';
import { plainRequestTaskParams, RequestTaskParams, SetTaskConfigParams } from './task-params.dto';

export interface ConfigFile {
  content: Buffer;
  contentType: string;
  filename: string;
}

@Injectable()
export class TaskForms {
  constructor(private readonly config: AppConfig) {}

  private limits(fileSize: number): MultipartLimits {
    return {
      fileSize,
      fieldSize: this.config.MAX_FIELD_BYTES,
      fields: this.config.MAX_MULTIPART_FIELDS,
      parts: this.config.MAX_MULTIPART_PARTS,
    };
  }

  /**
   * requestTask from a urlencoded form (read already: no promise), or a multipart one whose
   * agentConfig is a file part.
   */
  requestTaskParams(
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): MaybePromise<RequestTaskParams> {
    if (!request.isMultipart())
      return plainRequestTaskParams(plain) ?? validateParams(RequestTaskParams, plain);
    return this.multipartRequestTaskParams(request, plain);
  }

  private async multipartRequestTaskParams(
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): Promise<RequestTaskParams> {
    const { params } = await readMultipartParams(request, {
      params: RequestTaskParams,
      plain,
      limits: this.limits(this.config.MAX_FIELD_BYTES),
      fileFields: ['agentConfig', 'files', 'file'],
      onFile: async (part) => (await readSmallFile(part.stream)).toString('utf8'),
      // ThreadFix's Python client sends the agent's properties as a file part instead of a field.
      fileAsParam: 'agentConfig',
    });
    return params;
  }

  /** setTaskConfig's parameters and its config file (bounded by MAX_CONFIG_BYTES), if one came. */
  async scanConfigForm(
    request: FastifyRequest,
    plain: Record<string, unknown>,
  ): Promise<{ params: SetTaskConfigParams; file?: ConfigFile }> {
    return readMultipartParams(request, {
      params: SetTaskConfigParams,
      plain,
      limits: this.limits(this.config.MAX_CONFIG_BYTES),
      fileFields: ['file'],
      onFile: async (part) => ({
        content: await readSmallFile(part.stream),
        contentType: part.mimetype,
        filename: part.filename,
      }),
    });
  }
}

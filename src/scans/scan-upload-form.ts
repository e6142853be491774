/**
 * The HTTP side of a scan upload: a multipart form read into validated parameters while its file
 * part streams into the upload room (scan-upload.ts). The parameters that come before the file
 * are checked first, so a refused call costs no upload. Controllers use it; services get the
 * validated parameters and the staged file.
 */
import { Injectable } from '@nestjs/common';
import { finished } from 'node:stream/promises';
import { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { MultipartLimits } from '../rest/multipart-form';
import { paramsBeforeFile, readMultipartParams } from '../rest/multipart-params';
import { BadRestParameter } from '../rest/rest-error';
import { BeforeScanFile, ScanIntake, ScanIntakeSession } from './scan-upload';

/** A multipart scan upload: its parameters (a DTO, or none) and the check made before the file. */
export interface ScanUploadFormSpec<P extends object> {
  params?: new () => P;
  /** What `@RestParams()` gave the route. */
  plain: Record<string, unknown>;
  /** The answer when no file came (400). */
  missingFile: string;
  /**
   * Runs when the file part begins, with the raw parameters that came before it and, when all of
   * `required` are among them, those validated against `params`; may refuse (throw).
   */
  beforeFile?: {
    required: readonly string[];
    check: (before: Record<string, unknown>, params?: P) => Promise<BeforeScanFile>;
  };
}

@Injectable()
export class ScanUploadForm {
  constructor(
    private readonly config: AppConfig,
    private readonly intake: ScanIntake,
  ) {}

  /** The multipart limits of a scan upload (MAX_UPLOAD_BYTES and the form limits). */
  private get limits(): MultipartLimits {
    return {
      fileSize: this.config.MAX_UPLOAD_BYTES,
      fieldSize: this.config.MAX_FIELD_BYTES,
      fields: this.config.MAX_MULTIPART_FIELDS,
      parts: this.config.MAX_MULTIPART_PARTS,
    };
  }

  /**
   * One multipart scan upload, end to end: the form is read with `spec.beforeFile` checking what
   * came before the file, the file is staged (received and inspected, not yet durable), and `use`
   * gets the validated parameters and the session to commit and record it; ScanIntake.run then
   * cleans up.
   */
  receive<P extends object, R>(
    request: FastifyRequest,
    spec: ScanUploadFormSpec<P>,
    use: (params: P, scan: ScanIntakeSession) => Promise<R>,
  ): Promise<R> {
    return this.intake.run(async (session) => {
      const { params, file } = await readMultipartParams(request, {
        params: spec.params,
        plain: spec.plain,
        limits: this.limits,
        fileFields: ['file'],
        onFile: async (part, before) => {
          const decided = await this.checkBeforeFile(spec, before);
          if (decided.skip) {
            // Read and dropped; finished() also settles when the body breaks off.
            part.stream.resume();
            await finished(part.stream);
          } else {
            await session.receive(part.stream, part.filename, decided.expectedScanner);
          }
          return true;
        },
      });
      if (!file) throw new BadRestParameter(spec.missingFile);
      return use(params, session);
    });
  }

  private async checkBeforeFile<P extends object>(
    spec: ScanUploadFormSpec<P>,
    before: Record<string, unknown>,
  ): Promise<BeforeScanFile> {
    if (!spec.beforeFile) return {};
    const params = spec.params
      ? await paramsBeforeFile(spec.params, before, spec.beforeFile.required)
      : undefined;
    return spec.beforeFile.check(before, params);
  }
}

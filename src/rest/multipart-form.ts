/**
 * Reads a multipart/form-data request part by part, in the request's stream: fields are
 * collected (bounded), the one file part is handed to the caller to stream wherever it goes.
 * Limits are declared up front; going over one is a 413, never a truncated value taken as valid.
 */
import { Readable } from 'node:stream';
import { FastifyRequest } from 'fastify';
import { BadRestParameter, PayloadTooLarge, RestError, UnsupportedMediaType } from './rest-error';

export interface MultipartLimits {
  fileSize: number;
  fieldSize: number;
  fields: number;
  parts: number;
}

export interface MultipartFilePart {
  fieldname: string;
  filename: string;
  mimetype: string;
  stream: Readable;
}

/** Form fields by name; a field given more than once keeps all its values (rest-params.ts binds them). */
export type FormFields = Record<string, string | string[]>;

export async function readMultipartForm<T>(
  request: FastifyRequest,
  limits: MultipartLimits,
  fileFields: readonly string[],
  onFile: (file: MultipartFilePart, fieldsSoFar: Readonly<FormFields>) => Promise<T>,
): Promise<{ fields: FormFields; file?: T }> {
  if (!request.isMultipart())
    throw new UnsupportedMediaType('This operation needs a multipart/form-data body.');
  try {
    return await readParts(request, limits, fileFields, onFile);
  } catch (error) {
    // The rest of the body is settled by the exception filter (settleUnreadBody).
    throw asClientError(error);
  }
}

/** What busboy says of a body that is not well-formed multipart (it throws plain Errors). */
const MALFORMED_MULTIPART = [
  /^Multipart: Boundary not found$/,
  /^Unexpected end of multipart data$/,
  /terminated early due to unexpected end of multipart data$/,
  /^The needle cannot (be an empty String\/Buffer|have a length bigger than 256)\.$/,
  /^Unsupported Content-Type\.$/,
];
export const MALFORMED_MULTIPART_MESSAGE = 'The multipart/form-data body is malformed.';

/**
 * A malformed body is the client's fault: 400, not the 500 a plain Error would become. Errors with a
 * status (ours, @fastify/multipart's FST_* limits) pass as they are, and so does anything else, so
 * a server fault (storage, database) stays a logged 500.
 */
function asClientError(error: unknown): unknown {
  if (error instanceof RestError || !(error instanceof Error)) return error;
  if ((error as { statusCode?: unknown }).statusCode !== undefined) return error;
  if (MALFORMED_MULTIPART.some((pattern) => pattern.test(error.message)))
    return new BadRestParameter(MALFORMED_MULTIPART_MESSAGE);
  return error;
}

/** varchar(255) of scans.original_filename; a declared MIME type longer than scan_configs' 100 is not one. */
const MAX_FILENAME_CHARS = 255;
const MIME_TYPE = /^[a-z0-9!#$&^_.+-]{1,47}\/[a-z0-9!#$&^_.+-]{1,52}$/;

/** The client's file name, as information only: no control characters (PostgreSQL refuses NUL), bounded. */
function safeFilename(filename: string | undefined): string {
  return Array.from((filename ?? '').replace(/[\u0000-\u001f\u007f]/g, ''))
    .slice(0, MAX_FILENAME_CHARS)
    .join('');
}

async function readParts<T>(
  request: FastifyRequest,
  limits: MultipartLimits,
  fileFields: readonly string[],
  onFile: (file: MultipartFilePart, fieldsSoFar: Readonly<FormFields>) => Promise<T>,
): Promise<{ fields: FormFields; file?: T }> {
  const fields = Object.create(null) as FormFields;
  let file: T | undefined;
  let sawFile = false;
  for await (const part of request.parts({ limits: { ...limits, files: 1 } })) {
    if (part.type === 'field') {
      if (part.valueTruncated)
        throw new PayloadTooLarge(
          `Form field '${part.fieldname}' is larger than ${limits.fieldSize} bytes.`,
        );
      const value = typeof part.value === 'string' ? part.value : String(part.value);
      const earlier = fields[part.fieldname];
      fields[part.fieldname] = earlier === undefined ? value : [earlier, value].flat();
      continue;
    }
    if (!fileFields.includes(part.fieldname) || sawFile) {
      part.file.resume();
      throw new BadRestParameter(
        `Unexpected file part '${part.fieldname}'; expected ${fileFields.map((f) => `'${f}'`).join(' or ')}.`,
      );
    }
    sawFile = true;
    // Busboy ends a file silently at the size limit; fail the stream so no truncated file is taken.
    part.file.once('limit', () =>
      part.file.destroy(
        new PayloadTooLarge(
          `The uploaded file is larger than the limit of ${limits.fileSize} bytes.`,
        ),
      ),
    );
    file = await onFile(
      {
        fieldname: part.fieldname,
        filename: safeFilename(part.filename),
        mimetype: MIME_TYPE.test(part.mimetype) ? part.mimetype : 'application/octet-stream',
        stream: part.file,
      },
      fields,
    );
  }
  return { fields: { ...fields }, file };
}

/** Reads a small file part into memory; its size is bounded by the part's fileSize limit. */
export async function readSmallFile(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads a multipart/form-data request part by part, in the request's stream: fields are
 * collected (bounded), the one file part is handed to the caller to stream wherever it goes.
 * Limits are declared up front; going over one is a 413, never a truncated value taken as valid.
 */
import { Readable } from 'node:stream';
import { FastifyRequest } from 'fastify';
import { BadRestParameter, PayloadTooLarge, UnsupportedMediaType } from './rest-error';

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

export async function readMultipartForm<T>(
  request: FastifyRequest,
  limits: MultipartLimits,
  fileFields: readonly string[],
  onFile: (file: MultipartFilePart, fieldsSoFar: Readonly<Record<string, string>>) => Promise<T>,
): Promise<{ fields: Record<string, string>; file?: T }> {
  if (!request.isMultipart())
    throw new UnsupportedMediaType('This operation needs a multipart/form-data body.');
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let file: T | undefined;
  let sawFile = false;
  for await (const part of request.parts({ limits: { ...limits, files: 1 } })) {
    if (part.type === 'field') {
      if (part.valueTruncated)
        throw new PayloadTooLarge(
          `Form field '${part.fieldname}' is larger than ${limits.fieldSize} bytes.`,
        );
      if (part.fieldname in fields)
        throw new BadRestParameter(`Parameter '${part.fieldname}' was given more than once.`);
      fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
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
        filename: part.filename,
        mimetype: part.mimetype,
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

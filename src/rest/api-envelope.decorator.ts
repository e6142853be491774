/** Swagger: documents a route's success envelope and the failure envelopes it can answer with. */
import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiResponse,
  ApiSecurity,
  getSchemaPath,
} from '@nestjs/swagger';

export class RestFailureDto {
  @ApiProperty({ example: 'Authentication failed, check your API Key.' }) message!: string;
  @ApiProperty({ example: false }) success!: boolean;
  @ApiProperty({ example: -1 }) responseCode!: number;
  @ApiProperty({ nullable: true, example: null, type: Object }) object!: null;
}

type Payload = Type<unknown> | 'string' | 'number';

const FAILURES: Record<number, string> = {
  400: 'Bad or missing parameter',
  401: 'Missing, unknown or revoked API key',
  403: 'Permission missing, restricted key, or a task/agent key that does not match',
  404: 'No such resource',
  409: "The resource's state forbids the call",
  413: 'Body, file or field over its limit',
  422: "File not a valid result of the task's scanner",
  429: 'Over a limit (concurrent uploads, status messages of a task); retry later',
};

export function ApiEnvelope(
  payload: Payload,
  options: {
    isArray?: boolean;
    failures?: number[];
    /** Response headers of a success, beside the envelope. */
    headers?: Record<string, { description: string; schema: { type: string } }>;
  } = {},
) {
  const objectSchema =
    typeof payload === 'string'
      ? { type: payload }
      : options.isArray
        ? { type: 'array', items: { $ref: getSchemaPath(payload) } }
        : { $ref: getSchemaPath(payload) };
  const decorators = [
    ApiSecurity('APIKEY'),
    ApiExtraModels(RestFailureDto, ...(typeof payload === 'string' ? [] : [payload])),
    ApiResponse({
      status: 200,
      description: 'ThreadFix envelope; `object` holds the result',
      ...(options.headers ? { headers: options.headers } : {}),
      schema: {
        type: 'object',
        required: ['message', 'success', 'responseCode', 'object'],
        properties: {
          message: { type: 'string', example: '' },
          success: { type: 'boolean', example: true },
          responseCode: { type: 'integer', example: -1 },
          object: objectSchema,
        },
      },
    }),
    ...[400, 401, 403, ...(options.failures ?? [])].map((status) =>
      ApiResponse({ status, description: FAILURES[status], type: RestFailureDto }),
    ),
  ];
  return applyDecorators(...decorators);
}

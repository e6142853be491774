/**
 * ThreadFix's FormRestResponse: a validation failure with `errorMap: {field: message}` beside the
 * envelope (`message: "Has validation errors"`). Only updateApplication answers so; the filter is
 * declared on its route, and any other path to the global filter still yields the plain envelope.
 */
import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { RestError } from '../rest/rest-error';
import { REST_CONTENT_TYPE, restFailure } from '../rest/rest-response';

export const HAS_VALIDATION_ERRORS = 'Has validation errors';

/** 400 for bad values, 409 when a value collides with existing data (a name already taken). */
export class FormValidationFailed extends RestError {
  constructor(
    readonly errorMap: Readonly<Record<string, string>>,
    readonly httpStatus: 400 | 409 = 400,
  ) {
    super(HAS_VALIDATION_ERRORS);
  }
}

@Catch(FormValidationFailed)
export class FormValidationFilter implements ExceptionFilter {
  catch(error: FormValidationFailed, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (reply.sent) return;
    void reply
      .status(error.httpStatus)
      .header('content-type', REST_CONTENT_TYPE)
      .send({ ...restFailure(error.message), errorMap: error.errorMap });
  }
}

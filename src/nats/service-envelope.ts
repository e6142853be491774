/**
 * The REST envelope `{message, success, responseCode, object}` for NATS replies. NATS has no status
 * line, so `responseCode` carries the HTTP status the REST route would have answered (200, 400,
 * 401, 403, 404, 409 …) where REST always sends ThreadFix's -1. Every failure, validation and
 * refusals included, is such an envelope: a requester never waits for a reply that does not come.
 */
import {
  ArgumentsHost,
  CallHandler,
  Catch,
  ExceptionFilter,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { map, Observable, of } from 'rxjs';
import { FormValidationFailed } from '../applications/form-validation';
import { toRestFailure } from '../rest/rest-exception.filter';
import { ServiceEnvelope, serviceFailure, serviceSuccess } from './service-wire';

@Injectable()
export class ServiceEnvelopeInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<ServiceEnvelope<unknown>> {
    return next.handle().pipe(map((object: unknown) => serviceSuccess(object)));
  }
}

/**
 * The RPC side of RestExceptionFilter: the same mapping of errors to statuses and messages, and
 * FormValidationFilter's `errorMap` beside the envelope for the failures that carry one.
 */
@Catch()
export class ServiceEnvelopeFilter implements ExceptionFilter {
  catch(error: unknown, _host: ArgumentsHost): Observable<ServiceEnvelope<never>> {
    const { status, body } = toRestFailure(error);
    const failure = serviceFailure(status, body.message);
    return of(
      error instanceof FormValidationFailed ? { ...failure, errorMap: error.errorMap } : failure,
    );
  }
}

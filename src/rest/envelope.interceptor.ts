/** Wraps every controller result in the success envelope (file downloads and @RawResponse pass through). */
import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  StreamableFile,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { map, Observable } from 'rxjs';
import { restSuccess } from './rest-response';

const RAW_RESPONSE = 'scanqueue:raw-response';

/** For the few routes outside ThreadFix's API whose consumers expect plain JSON (health). */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.get<boolean | undefined>(RAW_RESPONSE, context.getHandler());
    return next
      .handle()
      .pipe(
        map((result: unknown) =>
          raw || result instanceof StreamableFile ? result : restSuccess(result ?? null),
        ),
      );
  }
}

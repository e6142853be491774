/**
 * Authenticates a NATS request with an API key and applies the REST route's permission
 * (assertRouteAccess, the same check as ApiKeyGuard). The key comes in the `Authorization: APIKEY
 * <key>` NATS header or, for clients without headers, the payload's `apiKey` field.
 */
import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NatsContext } from '@nestjs/microservices';
import { assertRouteAccess } from '../auth/api-key.guard';
import { ApiKeysService } from '../auth/api-keys.service';
import { AuthenticatedCaller } from '../auth/authenticated-caller';
import { routeAccessOf } from '../auth/require-permission.decorator';
import { presentedKey } from './service-wire';

const callers = new WeakMap<object, AuthenticatedCaller>();

export function presentedServiceKey(context: NatsContext, data: unknown): string | undefined {
  const headers = context.getHeaders() as { get(name: string): string } | undefined;
  return presentedKey(headers?.get('Authorization'), data);
}

@Injectable()
export class ServiceKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = routeAccessOf(this.reflector, context);
    const rpc = context.switchToRpc();
    const nats = rpc.getContext<NatsContext>();
    const caller = await this.apiKeys.authenticate(presentedServiceKey(nats, rpc.getData()));
    assertRouteAccess(access, caller);
    callers.set(nats, caller);
    return true;
  }
}

/** The API key a NATS request was authenticated with (never its plaintext). */
export const ServiceCaller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AuthenticatedCaller => {
    const caller = callers.get(ctx.switchToRpc().getContext<NatsContext>());
    if (!caller) throw new Error('ServiceCaller requested on a pattern without ServiceKeyGuard');
    return caller;
  },
);

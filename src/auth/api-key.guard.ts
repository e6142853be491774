/**
 * Checks the route's declared permission for the caller the edge authenticated before reading the
 * body (src/edge/request-edge.ts), or authenticates here where the edge did not. Deny by default: a
 * route that declares nothing is refused.
 */
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { Forbidden } from '../rest/rest-error';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedCaller } from './authenticated-caller';
import { PERMISSION_LABELS } from './permission';
import { routeAccessOf, RouteAccess } from './require-permission.decorator';

export const RESTRICTED_KEY = 'The requested URL is restricted for your API Key.';

/** `Authorization: APIKEY <key>` first; the legacy `apiKey` query/form parameter second. */
export function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '') {
    const match = /^APIKEY\s+(\S+)\s*$/i.exec(header.trim());
    return match ? match[1] : undefined;
  }
  for (const source of [request.query, request.body]) {
    if (source && typeof source === 'object' && !Buffer.isBuffer(source)) {
      const value = (source as Record<string, unknown>).apiKey;
      if (typeof value === 'string' && value !== '') return value;
    }
  }
  return undefined;
}

/**
 * The permission check of an authenticated caller, shared by HTTP routes and the NATS
 * request/reply patterns (src/nats): deny by default, restricted keys, any one of the permissions.
 */
export function assertRouteAccess(
  access: RouteAccess | undefined,
  caller: AuthenticatedCaller,
): void {
  if (access?.kind !== 'permission')
    throw new Forbidden('This operation is not available to any API key.');
  if (access.restricted && caller.restricted) throw new Forbidden(RESTRICTED_KEY);
  if (!access.anyOf.some((permission) => caller.permissions.includes(permission))) {
    const needed = access.anyOf.map((p) => PERMISSION_LABELS[p]).join(' or ');
    throw new Forbidden(`Your API Key lacks the permission this operation needs: ${needed}.`);
  }
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = routeAccessOf(this.reflector, context);
    if (access?.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    // Authenticated at the edge, before the body was read (src/edge/request-edge.ts).
    const caller = request.caller ?? (await this.apiKeys.authenticate(presentedApiKey(request)));
    assertRouteAccess(access, caller);
    request.caller = caller;
    return true;
  }
}

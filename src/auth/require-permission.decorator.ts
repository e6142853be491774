import { ExecutionContext, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AccessRule, Permission } from './permission';

export const ROUTE_ACCESS = 'scanqueue:route-access';

export type RouteAccess =
  | { kind: 'public' }
  /** Any one of `anyOf` suffices. `restricted`: refused to restricted keys (ThreadFix's flag). */
  | { kind: 'permission'; anyOf: readonly Permission[]; restricted: boolean };

/**
 * The route follows one rule of the roles table (permission.ts ACCESS), the only way to declare a
 * permission. Routes without a declaration are refused.
 */
export const RequireAccess = (rule: AccessRule) =>
  SetMetadata<string, RouteAccess>(ROUTE_ACCESS, { kind: 'permission', ...rule });

/** No API key needed (health, docs). */
export const Public = () => SetMetadata<string, RouteAccess>(ROUTE_ACCESS, { kind: 'public' });

/** The rule a handler (or its class) declared; undefined when none (then it is refused). */
export function routeAccessOf(
  reflector: Reflector,
  context: ExecutionContext,
): RouteAccess | undefined {
  return reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [
    context.getHandler(),
    context.getClass(),
  ]);
}

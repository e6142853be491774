import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Permission } from './permission';

/** The API key a request was authenticated with (never its plaintext). */
export interface AuthenticatedCaller {
  apiKeyId: number;
  name: string;
  permissions: readonly Permission[];
  restricted: boolean;
  /** The teams whose applications the key reaches; null = every team (see team-scope.ts). */
  teamIds: readonly number[] | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: AuthenticatedCaller;
  }
}

export const Caller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AuthenticatedCaller => {
    const caller = ctx.switchToHttp().getRequest<FastifyRequest>().caller;
    if (!caller) throw new Error('Caller requested on a route without authentication');
    return caller;
  },
);

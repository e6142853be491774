/**
 * ThreadFix's parameters are Spring @RequestParams: they may come in the query string, a
 * urlencoded body or (for the admin's Swagger UI) a JSON body. `@RestParams()` merges them (body
 * wins) into one object that the global ValidationPipe checks against the DTO.
 */
import { createParamDecorator, ExecutionContext, ValidationPipe } from '@nestjs/common';
import { ValidationError } from 'class-validator';
import { FastifyRequest } from 'fastify';
import { BadRestParameter, UnrecognizedPath } from './rest-error';

export const RestParams = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Record<string, unknown> => {
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const merged: Record<string, unknown> = {};
    for (const source of [request.query, request.body]) {
      if (
        source &&
        typeof source === 'object' &&
        !Buffer.isBuffer(source) &&
        !Array.isArray(source)
      ) {
        Object.assign(merged, source);
      }
    }
    delete merged.apiKey; // authentication's, not the operation's
    return merged;
  },
);

/** Which failure to report when a parameter breaks several rules: presence, then type, then the rest. */
const FIRST_CONSTRAINTS = ['isDefined', 'isInt', 'isString', 'isBoolean', 'isArray', 'isEnum'];

/** One message per parameter: "must be an integer" says more than "must not be greater than". */
function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const constraints = error.constraints ?? {};
    const first =
      FIRST_CONSTRAINTS.find((name) => name in constraints) ?? Object.keys(constraints)[0];
    return [
      ...(first ? [`${prefix}${constraints[first]}`] : []),
      ...describe(error.children ?? [], `${prefix}${error.property}.`),
    ];
  });
}

export function restValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    validateCustomDecorators: true,
    forbidUnknownValues: false,
    exceptionFactory: (errors) => new BadRestParameter(describe(errors).join(' ')),
  });
}

/**
 * Parses a path id. A segment that is not a number is an unknown path (ThreadFix's 404); a number
 * out of range is a bad parameter.
 */
export function parseId(value: string, name = 'id'): number {
  if (!/^\d+$/.test(value)) throw new UnrecognizedPath();
  if (value.length > 10 || Number(value) < 1 || Number(value) > 2147483647) {
    throw new BadRestParameter(`${name} must be a positive integer.`);
  }
  return Number(value);
}

/** Validates a plain object against a DTO the way the global pipe does (for multipart forms). */
export async function validateParams<T extends object>(
  type: new () => T,
  plain: Record<string, unknown>,
): Promise<T> {
  return (await restValidationPipe().transform(plain, { type: 'body', metatype: type })) as T;
}

/**
 * ThreadFix's parameters are Spring @RequestParams: they may come in the query string, a
 * urlencoded body, multipart fields or (for the admin's Swagger UI) a JSON body. `@RestParams()`
 * merges them into one object that the global ValidationPipe checks against the DTO; that pipe is
 * also where a parameter given more than once is bound, for every route and every encoding.
 */
import {
  ArgumentMetadata,
  createParamDecorator,
  ExecutionContext,
  Type,
  ValidationPipe,
} from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import { ValidationError } from 'class-validator';
import { FastifyRequest } from 'fastify';
import { bindRepeatedParams, checkParamValues, mergeParams } from './param-values';
import { BadRestParameter, UnrecognizedPath } from './rest-error';

/**
 * Swagger cannot see through a custom parameter decorator: declare the parameter's DTO as the
 * request body, or Swagger UI's "Try it out" offers no fields. (Untyped parameters — routes that
 * read multipart parts themselves — declare their body with `@ApiBody` on the route.)
 */
const documentDtoAsBody: ParameterDecorator = (target, key, index) => {
  if (key === undefined) return;
  const types = Reflect.getMetadata('design:paramtypes', target, key) as unknown[] | undefined;
  const type = types?.[index];
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  const untyped = [Object, String, Number, Boolean, Array] as unknown[];
  if (typeof type !== 'function' || untyped.includes(type) || !descriptor) return;
  ApiBody({ type: type as Type<unknown> })(target, key, descriptor);
};

/** A request's parameters, query string and body merged (what `@RestParams()` hands a route). */
export function restParamsOf(request: FastifyRequest): Record<string, unknown> {
  const merged = mergeParams(request.query, request.body);
  delete merged.apiKey; // authentication's, not the operation's
  return merged;
}

export const RestParams = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Record<string, unknown> =>
    restParamsOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
  [documentDtoAsBody],
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

const UNTYPED: unknown[] = [Object, String, Number, Boolean, Array];

class RestValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    checkParamValues(value);
    const type = metadata.metatype;
    const bound = type && !UNTYPED.includes(type) ? bindRepeatedParams(value, type) : value;
    return super.transform(bound, metadata);
  }
}

export function restValidationPipe(): ValidationPipe {
  return new RestValidationPipe({
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

/** One instance for the multipart routes (completeTask's hot path) rather than one per call. */
const FORM_VALIDATION = restValidationPipe();

/** Validates a plain object against a DTO the way the global pipe does (for multipart forms). */
export async function validateParams<T extends object>(
  type: new () => T,
  plain: Record<string, unknown>,
): Promise<T> {
  return (await FORM_VALIDATION.transform(plain, { type: 'body', metatype: type })) as T;
}

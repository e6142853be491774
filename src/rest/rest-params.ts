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
import { getMetadataStorage, ValidationError } from 'class-validator';
import { FastifyRequest } from 'fastify';
import { isCommaSeparatedList } from './param-rules';
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

/**
 * One parameter map from several sources (query string, body, multipart fields), as the servlet
 * container built Spring's: a name given in more than one place keeps all its values, in order.
 */
export function mergeParams(...sources: unknown[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    if (!source || typeof source !== 'object' || Buffer.isBuffer(source) || Array.isArray(source))
      continue;
    for (const [name, value] of Object.entries(source)) {
      if (name === '__proto__') continue; // never a parameter; assigning it would swap the prototype
      merged[name] = Object.hasOwn(merged, name)
        ? ([] as unknown[]).concat(merged[name], value)
        : value;
    }
  }
  return merged;
}

export const RestParams = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Record<string, unknown> => {
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const merged = mergeParams(request.query, request.body);
    delete merged.apiKey; // authentication's, not the operation's
    return merged;
  },
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

/** Deeper than any parameter object of this API; class-transformer recurses (stack) per level. */
const MAX_PARAM_DEPTH = 32;
export const TOO_DEEP_PARAMS = 'The parameters are nested too deeply.';

/**
 * Refuses what no DTO can take and what would otherwise fail as a 500: values nested deeper than
 * MAX_PARAM_DEPTH (class-transformer overflows the stack on a 1 MB JSON of nested arrays) and
 * strings with a NUL character (PostgreSQL text cannot store one). Iterative, so no stack of its own.
 */
function checkParamValues(value: unknown): void {
  const stack: { value: unknown; depth: number; name: string }[] = [{ value, depth: 0, name: '' }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number; name: string };
    if (typeof item.value === 'string') {
      if (item.value.includes('\u0000'))
        throw new BadRestParameter(
          item.name
            ? `Parameter '${item.name}' contains a NUL character.`
            : 'A parameter contains a NUL character.',
        );
      continue;
    }
    if (item.value === null || typeof item.value !== 'object' || Buffer.isBuffer(item.value))
      continue;
    if (item.depth >= MAX_PARAM_DEPTH) throw new BadRestParameter(TOO_DEEP_PARAMS);
    for (const [key, child] of Object.entries(item.value)) {
      stack.push({ value: child, depth: item.depth + 1, name: item.depth === 0 ? key : item.name });
    }
  }
}

/** The single-valued parameters a DTO declares (its properties with rules, arrays excepted). */
const SINGLE_VALUED = new WeakMap<object, Set<string>>();

function singleValuedParams(type: object): Set<string> {
  let names = SINGLE_VALUED.get(type);
  if (!names) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(
      type as new () => unknown,
      '',
      true,
      false,
    );
    const arrays = new Set(
      rules.filter((r) => r.name === 'isArray' || r.each).map((r) => r.propertyName),
    );
    names = new Set(rules.map((r) => r.propertyName).filter((name) => !arrays.has(name)));
    SINGLE_VALUED.set(type, names);
  }
  return names;
}

const givenMoreThanOnce = (name: string) => `Parameter '${name}' was given more than once.`;

/**
 * A parameter given more than once (`?scanners=A&scanners=B`, repeated form or multipart fields,
 * a JSON array) arrives as an array. A comma-separated list joins its values with commas, as
 * Spring joined a repeated String, so the repeated, comma-separated and mixed forms all mean the
 * same. A single-valued parameter refuses it with 400: Spring would have joined a String and taken
 * the first of a number, and silently keeping one of two task ids or keys is a guess. (Parameters
 * the DTO does not declare are left for the whitelist to drop.)
 */
function bindRepeatedParams(value: unknown, type: object): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value))
    return value;
  let bound: Record<string, unknown> | undefined;
  for (const [name, given] of Object.entries(value)) {
    if (!Array.isArray(given)) continue;
    if (isCommaSeparatedList(type, name)) {
      if (given.every((item) => typeof item === 'string'))
        (bound ??= { ...value })[name] = given.join(',');
    } else if (given.length > 1 && singleValuedParams(type).has(name)) {
      throw new BadRestParameter(givenMoreThanOnce(name));
    }
  }
  return bound ?? value;
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

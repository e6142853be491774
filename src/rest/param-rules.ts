/** Shared validation wording for ThreadFix-style parameters. */
import { Transform } from 'class-transformer';
import { IsDefined, ValidationOptions } from 'class-validator';

export const required = (name: string): ValidationOptions => ({
  message: `Required parameter '${name}' is missing.`,
});

/** A required parameter: present and not an empty string. */
export const IsRequired = (name: string) => IsDefined(required(name));

/** Form values arrive as strings: turn a decimal string into a number, leave anything else for @IsInt to refuse. */
export const ToInt = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value)
      ? Number(value)
      : value === ''
        ? undefined
        : value,
  );

export const ToBoolean = () =>
  Transform(({ value }: { value: unknown }) =>
    // Blank is absent (as EmptyAsMissing): Swagger UI sends a boolean left at "--" as empty.
    value === 'true' ? true : value === 'false' ? false : value === '' ? undefined : value,
  );

/** Empty strings count as absent, as Spring treated a blank @RequestParam. */
export const EmptyAsMissing = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && value.trim() === '' ? undefined : value,
  );

// Kept beside the other rules for the DTOs; config (below rest/) validates WEBHOOK_URLS with it.
export { HTTP_URL_RULES } from '../config/url-rules';

/** The DTO properties that are comma-separated lists, by the class that declares them. */
const COMMA_SEPARATED = new WeakMap<object, Set<string>>();

/**
 * A parameter that is a comma-separated list (ThreadFix's `scanners`). Its value may also come
 * repeated (`?scanners=A&scanners=B`, as Denim Group's Python client sends a list) or as a JSON
 * array: the binding (rest-params.ts) joins the values with commas, as Spring did for a String.
 */
export const CommaSeparatedList = (): PropertyDecorator => (target, property) => {
  const names = COMMA_SEPARATED.get(target.constructor) ?? new Set<string>();
  names.add(String(property));
  COMMA_SEPARATED.set(target.constructor, names);
};

/** Whether `name` is a comma-separated list parameter of `type` (or of a class it extends). */
export function isCommaSeparatedList(type: object, name: string): boolean {
  for (let t: object | null = type; t && t !== Function.prototype; t = Object.getPrototypeOf(t)) {
    if (COMMA_SEPARATED.get(t)?.has(name)) return true;
  }
  return false;
}

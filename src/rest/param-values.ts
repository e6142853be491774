/**
 * The framework-free half of rest-params.ts: parameter maps merged as Spring's servlet container
 * built them, the values no DTO can take refused, and repeated parameters bound.
 */
import { getMetadataStorage } from 'class-validator';
import { isCommaSeparatedList } from './param-rules';
import { BadRestParameter } from './rest-error';

/**
 * One parameter map from several sources (query string, body, multipart fields), as the servlet
 * container built Spring's: a name given in more than one place keeps all its values, in order.
 */
export function mergeParams(...sources: unknown[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    if (!source || typeof source !== 'object' || Buffer.isBuffer(source) || Array.isArray(source))
      continue;
    const params = source as Record<string, unknown>;
    for (const name of Object.keys(params)) {
      if (name === '__proto__') continue; // never a parameter; assigning it would swap the prototype
      const value = params[name];
      merged[name] = Object.hasOwn(merged, name)
        ? ([] as unknown[]).concat(merged[name], value)
        : value;
    }
  }
  return merged;
}

/** Deeper than any parameter object of this API; class-transformer recurses (stack) per level. */
const MAX_PARAM_DEPTH = 32;
export const TOO_DEEP_PARAMS = 'The parameters are nested too deeply.';

/**
 * Refuses what no DTO can take and what would otherwise fail as a 500: values nested deeper than
 * MAX_PARAM_DEPTH (class-transformer overflows the stack on a 1 MB JSON of nested arrays) and
 * strings with a NUL character (PostgreSQL text cannot store one). Iterative, so no stack of its own.
 */
export function checkParamValues(value: unknown): void {
  const stack: { value: unknown; depth: number; name: string }[] = [{ value, depth: 0, name: '' }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number; name: string };
    if (typeof item.value === 'string') {
      checkText(item.value, item.name);
      continue;
    }
    if (item.value === null || typeof item.value !== 'object' || Buffer.isBuffer(item.value))
      continue;
    if (item.depth >= MAX_PARAM_DEPTH) throw new BadRestParameter(TOO_DEEP_PARAMS);
    const parent = item.value as Record<string, unknown>;
    for (const key of Object.keys(parent)) {
      const child = parent[key];
      const name = item.depth === 0 ? key : item.name;
      // Most values are text: checked here, with no stack entry (a poll's form is all text).
      if (typeof child === 'string') checkText(child, name);
      else stack.push({ value: child, depth: item.depth + 1, name });
    }
  }
}

function checkText(text: string, name: string): void {
  if (text.includes('\u0000'))
    throw new BadRestParameter(
      name
        ? `Parameter '${name}' contains a NUL character.`
        : 'A parameter contains a NUL character.',
    );
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
export function bindRepeatedParams(value: unknown, type: object): unknown {
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

/**
 * Whether every one of `required` came among the parameters before a file part: only then can the
 * checks they serve run before the file is read (an empty one is then refused before it is read).
 */
export function cameBeforeFile(
  before: Record<string, unknown>,
  required: readonly string[],
): boolean {
  return required.every((name) => before[name] !== undefined);
}

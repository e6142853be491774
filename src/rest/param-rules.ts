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
    value === 'true' ? true : value === 'false' ? false : value,
  );

/** Empty strings count as absent, as Spring treated a blank @RequestParam. */
export const EmptyAsMissing = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && value.trim() === '' ? undefined : value,
  );

/** What counts as a target URL here: http(s) with a scheme; internal hosts need no TLD. */
export const HTTP_URL_RULES = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
};

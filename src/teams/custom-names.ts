/**
 * ThreadFix's rules for names people choose (teams, applications) and for finding them again by
 * the name a client sent. Shared by the team and application calls.
 */
import { ValidateIf } from 'class-validator';

/**
 * An optional parameter that, when present, must pass its rules: unlike @IsOptional, a JSON `null`
 * is not let through (the ThreadFix calls read absent as "not sent"; null is a bad value, 400).
 */
export const OptionalNotNull = () =>
  ValidateIf((_: unknown, value: unknown) => value !== undefined);

export const HTML_IN_NAME = 'No HTML characters are allowed in custom names.';

/**
 * The characters Apache Commons' `escapeHtml4` rewrites (ThreadFix refused a name it would change):
 * `"&<>`, ISO-8859-1 from U+00A0, and HTML 4.01's other named entities (Greek letters, symbols,
 * punctuation such as dashes and curly quotes, the euro sign). Other scripts (CJK, Cyrillic, …) and
 * the apostrophe pass unchanged.
 */
// prettier-ignore
const HTML4_ESCAPED = new Set<number>([
  0x22, 0x26, 0x3c, 0x3e, ...range(0xa0, 0xff), 0x152, 0x153, 0x160, 0x161, 0x178, 0x192, 0x2c6,
  0x2dc, ...range(0x391, 0x3a1), ...range(0x3a3, 0x3a9), ...range(0x3b1, 0x3c9), 0x3d1, 0x3d2,
  0x3d6, 0x2002, 0x2003, 0x2009, 0x200c, 0x200d, 0x200e, 0x200f, 0x2013, 0x2014, 0x2018, 0x2019,
  0x201a, 0x201c, 0x201d, 0x201e, 0x2020, 0x2021, 0x2022, 0x2026, 0x2030, 0x2032, 0x2033, 0x2039,
  0x203a, 0x203e, 0x2044, 0x20ac, 0x2111, 0x2118, 0x211c, 0x2122, 0x2135, ...range(0x2190, 0x2194),
  0x21b5, ...range(0x21d0, 0x21d4), 0x2200, 0x2202, 0x2203, 0x2205, 0x2207, 0x2208, 0x2209, 0x220b,
  0x220f, 0x2211, 0x2212, 0x2217, 0x221a, 0x221d, 0x221e, 0x2220, 0x2227, 0x2228, 0x2229, 0x222a,
  0x222b, 0x2234, 0x223c, 0x2245, 0x2248, 0x2260, 0x2261, 0x2264, 0x2265, 0x2282, 0x2283, 0x2284,
  0x2286, 0x2287, 0x2295, 0x2297, 0x22a5, 0x22c5, 0x2308, 0x2309, 0x230a, 0x230b, 0x2329, 0x232a,
  0x25ca, 0x2660, 0x2663, 0x2665, 0x2666
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Whether HTML-4 escaping would change the name (ThreadFix's "No HTML characters" rule). */
export function hasHtmlCharacters(name: string): boolean {
  for (const char of name) if (HTML4_ESCAPED.has(char.codePointAt(0) as number)) return true;
  return false;
}

/**
 * The names a client may mean by one query value, in the order to try them: the value as decoded
 * (`+` is a space); the raw value with `+` kept literal, because the vendor's Python client pastes
 * names into the URL unencoded (a team `C+B` arrives as `name=C+B`); and ThreadFix's own retry with
 * every `+` read as a space (clients that encode spaces as `+` in a path segment).
 */
export function nameCandidates(decoded: string, rawValue?: string): string[] {
  const candidates = [decoded];
  if (rawValue !== undefined && rawValue.includes('+')) {
    const literal = safeDecode(rawValue);
    if (literal !== undefined) candidates.push(literal);
  }
  candidates.push(decoded.replace(/\+/g, ' '));
  return [...new Set(candidates)];
}

/** The raw (still percent-encoded) value of the first `name` parameter in a URL's query string. */
export function rawQueryValue(url: string, name: string): string | undefined {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return undefined;
  for (const pair of url.slice(queryAt + 1).split('&')) {
    const equals = pair.indexOf('=');
    const key = equals === -1 ? pair : pair.slice(0, equals);
    if (safeDecode(key.replace(/\+/g, ' ')) === name)
      return equals === -1 ? '' : pair.slice(equals + 1);
  }
  return undefined;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

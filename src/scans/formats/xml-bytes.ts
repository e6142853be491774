/**
 * Byte-level pieces of XmlBodyScreen: character classes, UTF-8 and reference checks that return
 * a length, MORE (the input ends first) or STOP (saxes must decide), and the open elements' names
 * kept as bytes, and the tags.
 */
import { XML_LIMITS } from './safe-xml-reader';

export const LT = 0x3c;
export const GT = 0x3e;
export const AMP = 0x26;
export const BRACKET = 0x5d;
export const DASH = 0x2d;
export const SLASH = 0x2f;
export const BANG = 0x21;
const EQ = 0x3d;
export const LF = 0x0a;
export const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** Need the next chunk to decide. */
export const MORE = -1;
/** Hand over to saxes. */
export const STOP = -2;

function table(members: (code: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = members(c) ? 1 : 0;
  return t;
}
const printable = (c: number) => c === 0x09 || (c >= 0x20 && c < 0x80);
/** Characters that need no attention, per context (`>` matters after `]]`, so it is never plain). */
export const TEXT_PLAIN = table(
  (c) => printable(c) && c !== LT && c !== AMP && c !== BRACKET && c !== GT,
);
export const COMMENT_PLAIN = table((c) => printable(c) && c !== DASH);
export const CDATA_PLAIN = table((c) => printable(c) && c !== BRACKET && c !== GT);
const VALUE_PLAIN = table(
  (c) => printable(c) && c !== LT && c !== AMP && c !== DQUOTE && c !== SQUOTE,
);
/** ASCII only: names with other characters go to saxes. */
const NAME_START = table(
  (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a,
);
const NAME_CHAR = table(
  (c) => NAME_START[c] === 1 || (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2e,
);
/** The index after the ASCII name at b[j] (j itself when none starts there), at most n. */
export function asciiNameEnd(b: Uint8Array, j: number, n: number): number {
  if (j >= n || NAME_START[b[j]] !== 1) return j;
  for (j++; j < n && NAME_CHAR[b[j]] === 1; j++);
  return j;
}
export const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === LF || c === CR;

/** XML 1.0's Char production, for character references. */
function isXmlChar(code: number): boolean {
  return code >= 0x20
    ? code <= 0xd7ff || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff)
    : code === 0x09 || code === LF || code === CR;
}

/**
 * Length of the UTF-8 character at b[i] (a byte >= 0x80) when it is well-formed and an XML Char,
 * MORE when it runs past n, STOP otherwise (invalid UTF-8, U+FFFE, U+FFFF).
 */
export function utf8Char(b: Uint8Array, i: number, n: number): number {
  const c = b[i];
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) length = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c === 0xe0) low = 0xa0;
    else if (c === 0xed) high = 0x9f; // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c === 0xf0) low = 0x90;
    else if (c === 0xf4) high = 0x8f;
  } else return STOP;
  if (i + 1 >= n) return MORE;
  const c1 = b[i + 1];
  if (c1 < low || c1 > high) return STOP;
  for (let k = 2; k < length; k++) {
    if (i + k >= n) return MORE;
    if ((b[i + k] & 0xc0) !== 0x80) return STOP;
  }
  // U+FFFE and U+FFFF are not XML characters.
  if (c === 0xef && c1 === 0xbf && b[i + 2] >= 0xbe) return STOP;
  return length;
}

/** The length of the entity or character reference at b[i] (`&`), MORE, or STOP. */
export function reference(b: Uint8Array, i: number, n: number): number {
  // The longest one read here is `&#x10FFFF;` or `&#1114111;`: 10 bytes.
  let j = i + 1;
  if (j >= n) return MORE;
  if (b[j] === 0x23) {
    j++;
    const hex = j < n && b[j] === 0x78;
    if (hex) j++;
    const digitsStart = j;
    let code = 0;
    for (; j < n && j - digitsStart <= 7; j++) {
      const d = b[j];
      let v: number;
      if (d >= 0x30 && d <= 0x39) v = d - 0x30;
      else if (hex && d >= 0x61 && d <= 0x66) v = d - 0x57;
      else if (hex && d >= 0x41 && d <= 0x46) v = d - 0x37;
      else break;
      code = code * (hex ? 16 : 10) + v;
    }
    if (j >= n) return j - i <= 10 ? MORE : STOP;
    if (b[j] !== 0x3b || j === digitsStart || j - digitsStart > 7 || !isXmlChar(code)) return STOP;
    return j + 1 - i;
  }
  // amp lt gt quot apos
  const end = Math.min(n, i + 6);
  for (j = i + 1; j < end && b[j] !== 0x3b; j++);
  if (j >= n) return j - i < 6 ? MORE : STOP;
  const length = j - i;
  const c1 = b[i + 1];
  const ok =
    length === 3
      ? (c1 === 0x6c || c1 === 0x67) && b[i + 2] === 0x74 // lt gt
      : length === 4
        ? c1 === 0x61 && b[i + 2] === 0x6d && b[i + 3] === 0x70 // amp
        : length === 5 &&
          ((c1 === 0x71 && b[i + 2] === 0x75 && b[i + 3] === 0x6f && b[i + 4] === 0x74) || // quot
            (c1 === 0x61 && b[i + 2] === 0x70 && b[i + 3] === 0x6f && b[i + 4] === 0x73)); // apos
  return ok ? length + 1 : STOP;
}

/** Open elements' names as UTF-8 bytes, end to end: no string per start tag. */
export class NameStack {
  private bytes = new Uint8Array(4096);
  private readonly ends: number[] = [];

  constructor(names: readonly string[]) {
    for (const name of names) {
      const encoded = Buffer.from(name, 'utf8');
      this.push(encoded, 0, encoded.length);
    }
  }

  get depth(): number {
    return this.ends.length;
  }

  push(b: Uint8Array, start: number, end: number): void {
    const top = this.top();
    const length = end - start;
    if (top + length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, top + length));
      grown.set(this.bytes.subarray(0, top));
      this.bytes = grown;
    }
    const bytes = this.bytes;
    for (let k = 0; k < length; k++) bytes[top + k] = b[start + k];
    this.ends.push(top + length);
  }

  /** Whether the innermost open element is named b[start..end). */
  topIs(b: Uint8Array, start: number, end: number): boolean {
    const depth = this.ends.length;
    if (depth === 0) return false;
    const top = this.ends[depth - 1];
    const from = depth > 1 ? this.ends[depth - 2] : 0;
    if (top - from !== end - start) return false;
    const bytes = this.bytes;
    for (let k = from; k < top; k++) if (bytes[k] !== b[start + k - from]) return false;
    return true;
  }

  /**
   * The length of the innermost open element's name when b[start..] is that name, all ASCII,
   * followed by `>` (the usual end tag), else -1.
   */
  closedBy(b: Uint8Array, start: number, n: number): number {
    const depth = this.ends.length;
    if (depth === 0) return -1;
    const top = this.ends[depth - 1];
    const from = depth > 1 ? this.ends[depth - 2] : 0;
    const length = top - from;
    if (start + length >= n || b[start + length] !== GT) return -1;
    const bytes = this.bytes;
    for (let k = 0; k < length; k++) {
      const c = bytes[from + k];
      // A non-ASCII name (from saxes' stack) is saxes' to close: its column counts characters.
      if (c !== b[start + k] || c >= 0x80) return -1;
    }
    return length;
  }

  pop(): void {
    this.ends.pop();
  }

  names(): string[] {
    const names: string[] = [];
    let from = 0;
    for (const end of this.ends) {
      names.push(Buffer.from(this.bytes.buffer, from, end - from).toString('utf8'));
      from = end;
    }
    return names;
  }

  private top(): number {
    return this.ends.length === 0 ? 0 : this.ends[this.ends.length - 1];
  }
}

/**
 * Reads one start or end tag from its `<`, for XmlBodyScreen: the index after it, MORE, or STOP.
 * After a whole tag, `lines`, `column` and `attributes` say where it ended and what it held.
 */
export class TagReader {
  /** Line ends inside the tag. */
  lines = 0;
  /** The column after the tag's `>`. */
  column = 0;
  /** Attributes of the start tag. */
  attributes = 0;
  // Attribute names of the start tag being read (offsets into its buffer), for duplicates.
  private readonly nameStarts: number[] = [];
  private readonly nameEnds: number[] = [];

  /** The end tag at b[i] (`</`), which must close the innermost element of `stack`. */
  endTag(b: Uint8Array, i: number, n: number, stack: NameStack, column: number): number {
    let j = i + 2;
    if (j >= n) return MORE;
    if (NAME_START[b[j]] !== 1) return STOP;
    const nameStart = j;
    while (j < n && NAME_CHAR[b[j]] === 1) j++;
    if (j >= n) return MORE;
    if (!stack.topIs(b, nameStart, j)) return STOP;
    this.begin(column + (j - i), 0);
    j = this.spaces(b, j, n);
    if (j < 0 || b[j] !== GT) return j < 0 ? MORE : STOP;
    stack.pop();
    return this.tagEnd(j);
  }

  /**
   * The start tag at b[i] (`<` and a name start), inside the root of `stack`, which it enters
   * unless the tag closes itself. `attributes`: the document's so far (for the limit).
   */
  startTag(
    b: Uint8Array,
    i: number,
    n: number,
    stack: NameStack,
    column: number,
    attributes: number,
  ): number {
    // A second root, or the depth limit: saxes and SafeXmlReader say which.
    if (stack.depth === 0 || stack.depth >= XML_LIMITS.maxDepth) return STOP;
    let j = i + 1;
    if (NAME_START[b[j]] !== 1) return STOP;
    while (j < n && NAME_CHAR[b[j]] === 1) j++;
    if (j >= n) return MORE;
    const nameEnd = j;
    if (nameEnd - i - 1 > XML_LIMITS.maxNameChars) return STOP;
    this.begin(column + (j - i), 0);
    let count = 0;
    let rawChars = 0;
    for (;;) {
      // Spaces, then `>`, `/>` or (after at least one space) an attribute.
      const spacesFrom = j;
      j = this.spaces(b, j, n);
      if (j < 0) return MORE;
      let c = b[j];
      if (c === GT || c === SLASH) {
        if (c === SLASH) {
          if (j + 1 >= n) return MORE;
          if (b[j + 1] !== GT) return STOP;
          j++;
          this.column++;
        } else stack.push(b, i + 1, nameEnd);
        this.attributes = count;
        return this.tagEnd(j);
      }
      if (j === spacesFrom || NAME_START[c] !== 1) return STOP;
      const nameStart = j;
      while (j < n && NAME_CHAR[b[j]] === 1) j++;
      if (j >= n) return MORE;
      const length = j - nameStart;
      if (length > XML_LIMITS.maxNameChars || this.xmlnsOrRepeated(b, nameStart, j, count))
        return STOP;
      this.nameStarts[count] = nameStart;
      this.nameEnds[count] = j;
      this.column += length;
      // Spaces, `=`, spaces, a quote.
      j = this.spaces(b, j, n);
      if (j < 0) return MORE;
      if (b[j] !== EQ) return STOP;
      j = this.spaces(b, j + 1, n);
      this.column++;
      if (j < 0) return MORE;
      const quote = b[j];
      if (quote !== DQUOTE && quote !== SQUOTE) return STOP;
      const valueStart = ++j;
      this.column++;
      for (;;) {
        const run = j;
        while (j < n && VALUE_PLAIN[b[j]] === 1) j++;
        this.column += j - run;
        if (j >= n) return MORE;
        c = b[j];
        if (c === quote) break;
        if (c === LF || c === CR) {
          j = this.spaces(b, j, n);
          if (j < 0) return MORE;
          continue;
        }
        let step: number;
        if (c === DQUOTE || c === SQUOTE) step = 1;
        else if (c === AMP) step = reference(b, j, n);
        else if (c >= 0x80) step = utf8Char(b, j, n);
        else return STOP; // `<` or a control character
        if (step < 0) return step;
        this.column += c >= 0x80 ? 1 : step;
        j += step;
      }
      // Raw bytes bound SafeXmlReader's count of name and value characters from above.
      rawChars += length + (j - valueStart);
      if (
        ++count > XML_LIMITS.maxAttributesPerElement ||
        attributes + count > XML_LIMITS.maxAttributesPerDocument ||
        rawChars > XML_LIMITS.maxTokenChars
      )
        return STOP;
      j++;
      this.column++;
    }
  }

  /**
   * Skips the spaces (and line ends) from b[j] inside a tag, counting them into lines and
   * column: the index of the next other byte, or MORE when the input ends first.
   */
  private spaces(b: Uint8Array, j: number, n: number): number {
    for (; j < n; j++) {
      const c = b[j];
      if (c === 0x20 || c === 0x09) this.column++;
      else if (c === LF || c === CR) {
        if (c === CR) {
          if (j + 1 >= n) return MORE;
          if (b[j + 1] === LF) j++;
        }
        this.lines++;
        this.column = 0;
      } else return j;
    }
    return MORE;
  }

  /** An `xmlns` attribute (SafeXmlReader's XInclude check is saxes' side), or a repeated name. */
  private xmlnsOrRepeated(b: Uint8Array, start: number, end: number, count: number): boolean {
    const length = end - start;
    if (
      length >= 5 &&
      b[start] === 0x78 &&
      b[start + 1] === 0x6d &&
      b[start + 2] === 0x6c &&
      b[start + 3] === 0x6e &&
      b[start + 4] === 0x73 &&
      (length === 5 || b[start + 5] === 0x3a)
    )
      return true;
    for (let k = 0; k < count; k++) {
      const other = this.nameStarts[k];
      if (this.nameEnds[k] - other !== length) continue;
      let m = 0;
      while (m < length && b[other + m] === b[start + m]) m++;
      if (m === length) return true;
    }
    return false;
  }

  private begin(column: number, lines: number): void {
    this.column = column;
    this.lines = lines;
    this.attributes = 0;
  }

  /** The tag ends with the `>` at b[j]. */
  private tagEnd(j: number): number {
    this.column++;
    return j + 1;
  }
}

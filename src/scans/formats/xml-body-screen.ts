/**
 * A fast check of an XML document's body, for completeTask's upload check: saxes reads the prolog
 * and the first elements (the scanner's detection), then hands the rest to this screen, which
 * reads bytes (no decoding to strings) about four times as fast. The screen accepts only what
 * saxes and SafeXmlReader accept; on anything else (any error, and things it leaves to saxes:
 * non-ASCII names, processing instructions, entity references other than the five predefined and
 * character references, `xmlns` attributes, anything near XML_LIMITS) it stops and returns where
 * saxes must take over: the open elements, the line and column, the number of attributes so far,
 * and the bytes from the start of the token it stopped in. SafeXmlReader.resume primes a new
 * parser to that state, so the refusal (and its line and column) is saxes' own.
 *
 * The token it is in the middle of at the end of a chunk (a tag, a reference, a character) is
 * kept (at most MAX_CARRY_BYTES) and read again with the next chunk; text, comments and CDATA
 * stream through.
 */
import {
  AMP,
  BANG,
  BRACKET,
  CDATA_PLAIN,
  COMMENT_PLAIN,
  CR,
  DASH,
  GT,
  LF,
  LT,
  MORE,
  NameStack,
  SLASH,
  TagReader,
  STOP,
  TEXT_PLAIN,
  isSpace,
  asciiNameEnd,
  reference,
  utf8Char,
} from './xml-bytes';
import { XML_LIMITS, type BodyState } from './safe-xml-reader';

export interface ScreenHandOver {
  state: BodyState;
  /** The bytes from the resume point on. */
  rest: Uint8Array;
}

/** The longest token kept across chunks; a longer one goes to saxes. */
const MAX_CARRY_BYTES = 64 * 1024;
/** The chunk's bytes first joined to a carried token (then 4x as many while it is unfinished). */
const JOIN_BYTES = 1024;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

const enum Mode {
  Text,
  Comment,
  Cdata,
}

export class XmlBodyScreen {
  private readonly stack: NameStack;
  private line: number;
  private column: number;
  private attributes: number;
  private mode = Mode.Text;
  /** `]` (text, CDATA) or `-` (comment) just read, as far as they matter: 0..2. */
  private pending: number;
  /** The unfinished token of the last chunk, read again with the next. */
  private carry: Uint8Array | undefined;
  /** The bytes read so far ended with a CR: a LF next belongs to it (afterLineEnd). */
  private afterCr = false;
  /** Where the token that needs more input began (set by scan before it returns MORE). */
  private tokenStart = 0;
  /** Reads the tags that take no short path in markup(). */
  private readonly tags = new TagReader();

  /** Starts in text content, as SafeXmlReader.bodyState() describes it. */
  constructor(state: BodyState) {
    this.stack = new NameStack(state.stack);
    this.line = state.line;
    this.column = state.column;
    this.attributes = state.attributes;
    this.pending = state.pending;
  }

  /** Reads the next chunk; undefined when all of it passed, else where saxes must take over. */
  write(chunk: Uint8Array): ScreenHandOver | undefined {
    let from = 0;
    if (this.carry !== undefined) {
      const joined = this.finishCarried(chunk);
      if (joined.handOver !== undefined || joined.next === undefined) return joined.handOver;
      from = joined.next;
    }
    return this.read(chunk, this.afterLineEnd(chunk, from));
  }

  /** After a CR that ended the bytes read so far, a LF at b[i] belongs to it. */
  private afterLineEnd(b: Uint8Array, i: number): number {
    if (!this.afterCr || i >= b.length) return i;
    this.afterCr = false;
    return b[i] === LF ? i + 1 : i;
  }

  /** Reads chunk[from..); a token cut by its end is carried to the next chunk. */
  private read(chunk: Uint8Array, from: number): ScreenHandOver | undefined {
    const n = chunk.length;
    const at = this.scan(chunk, from, n);
    if (at === n) return undefined;
    if (at >= 0) return this.handOver(chunk.subarray(at));
    // MORE: the token from `start` waits for the next chunk.
    const start = this.tokenStart;
    if (n - start > MAX_CARRY_BYTES) return this.handOver(chunk.subarray(start));
    this.carry = chunk.slice(start);
    return undefined;
  }

  /**
   * Reads the carried token with only as many of the chunk's bytes as it needs (not a copy of the
   * whole chunk): `next` is the chunk's index where reading goes on, or undefined when the chunk
   * went into the carry or the hand-over.
   */
  private finishCarried(chunk: Uint8Array): { next?: number; handOver?: ScreenHandOver } {
    let carry = this.carry as Uint8Array;
    this.carry = undefined;
    let used = 0;
    for (let take = JOIN_BYTES; ; take *= 4) {
      const end = Math.min(chunk.length, used + take);
      const b = new Uint8Array(carry.length + end - used);
      b.set(carry);
      b.set(chunk.subarray(used, end), carry.length);
      const fromChunk = carry.length - used; // b's index of chunk[0]
      const at = this.scan(b, 0, b.length);
      if (at === b.length) return { next: end };
      if (at >= 0) return { handOver: this.handOver(concat(b.subarray(at), chunk.subarray(end))) };
      // MORE: a token that starts in the chunk is read from the chunk itself.
      if (this.tokenStart >= fromChunk) return { next: this.tokenStart - fromChunk };
      carry = b.subarray(this.tokenStart);
      used = end;
      if (carry.length > MAX_CARRY_BYTES)
        return { handOver: this.handOver(concat(carry, chunk.subarray(end))) };
      if (end === chunk.length) {
        this.carry = carry.slice();
        return {};
      }
    }
  }

  /** At the end of the document: undefined when it is complete, else where saxes must take over. */
  end(): ScreenHandOver | undefined {
    const rest = this.carry ?? new Uint8Array(0);
    this.carry = undefined;
    if (rest.length === 0 && this.mode === Mode.Text && this.stack.depth === 0) return undefined;
    return this.handOver(rest);
  }

  private handOver(rest: Uint8Array): ScreenHandOver {
    const context =
      this.mode === Mode.Text ? 'text' : this.mode === Mode.Comment ? 'comment' : 'cdata';
    return {
      state: {
        stack: this.stack.names(),
        line: this.line,
        column: this.column,
        attributes: this.attributes,
        context,
        pending: this.pending,
      },
      rest,
    };
  }

  /**
   * Reads b[i..n): returns n when done, the resume point for saxes, or MORE (tokenStart set). The
   * position (line, column, pending) always describes index i, the next byte to read.
   */
  private scan(b: Uint8Array, i: number, n: number): number {
    const stack = this.stack;
    while (i < n) {
      const mode = this.mode;
      const plain =
        mode === Mode.Text ? TEXT_PLAIN : mode === Mode.Comment ? COMMENT_PLAIN : CDATA_PLAIN;
      if (mode === Mode.Text && stack.depth === 0) {
        // After the root: only spaces, comments (and PIs, left to saxes).
        const c = b[i];
        if (c === LT) {
          if (i + 3 >= n) return this.more(i);
          if (b[i + 1] !== BANG || b[i + 2] !== DASH || b[i + 3] !== DASH) return i;
          this.enterComment();
          i += 4;
          continue;
        }
        if (!isSpace(c)) return i;
        i = this.newline(b, i, n);
        if (i < 0) return n;
        continue;
      }
      if (mode === Mode.Comment && this.pending === 2) {
        // `--` must be followed by `>`.
        if (b[i] !== GT) return i;
        this.leave();
        i++;
        continue;
      }
      const start = i;
      while (i < n && plain[b[i]] === 1) i++;
      if (i > start) {
        this.column += i - start;
        this.pending = 0;
        if (i === n) return n;
      }
      const c = b[i];
      if (c === LF || c === CR) {
        this.pending = 0;
        i = this.newline(b, i, n);
        if (i < 0) return n;
        continue;
      }
      if (c >= 0x80) {
        const length = utf8Char(b, i, n);
        if (length === STOP) return i;
        if (length === MORE) return this.more(i);
        i += length;
        this.column++;
        this.pending = 0;
        continue;
      }
      if (mode === Mode.Text) {
        if (c === LT) {
          const next = this.markup(b, i, n);
          if (next < 0) return next === MORE ? this.more(i) : i;
          i = next;
        } else if (c === AMP) {
          const length = reference(b, i, n);
          if (length === STOP) return i;
          if (length === MORE) return this.more(i);
          i += length;
          this.column += length;
          this.pending = 0;
        } else if (c === BRACKET) {
          if (this.pending < 2) this.pending++;
          this.column++;
          i++;
        } else if (c === GT) {
          if (this.pending === 2) return i; // `]]>` in text
          this.pending = 0;
          this.column++;
          i++;
        } else return i; // a control character
      } else if (mode === Mode.Comment) {
        if (c !== DASH) return i; // a control character
        this.pending++;
        this.column++;
        i++;
      } else {
        if (c === BRACKET) {
          if (this.pending < 2) this.pending++;
        } else if (c === GT) {
          if (this.pending === 2) {
            this.leave();
            i++;
            continue;
          }
          this.pending = 0;
        } else return i; // a control character
        this.column++;
        i++;
      }
    }
    return n;
  }

  private more(i: number): number {
    this.tokenStart = i;
    return MORE;
  }

  /** A LF, CR or CRLF at b[i] (other spaces after the root too): the index after it, or -1 at n. */
  private newline(b: Uint8Array, i: number, n: number): number {
    const c = b[i];
    if (c === LF) {
      this.line++;
      this.column = 0;
    } else if (c === CR) {
      this.line++;
      this.column = 0;
      if (i + 1 >= n) {
        this.afterCr = true;
        return -1;
      }
      if (b[i + 1] === LF) i++;
    } else this.column++;
    return i + 1 >= n ? -1 : i + 1;
  }

  /** `<!--` read. */
  private enterComment(): void {
    this.mode = Mode.Comment;
    this.pending = 0;
    this.column += 4;
  }

  /** The `>` that ends a comment or CDATA section read. */
  private leave(): void {
    this.mode = Mode.Text;
    this.pending = 0;
    this.column++;
  }

  /**
   * Markup at b[i] (`<`) in the root: a start or end tag, a comment's or CDATA section's opening.
   * Returns the index after what it read, MORE, or STOP (saxes takes over at i).
   */
  private markup(b: Uint8Array, i: number, n: number): number {
    if (i + 1 >= n) return MORE;
    const c = b[i + 1];
    if (c === SLASH) {
      // The usual end tag: the innermost element's name and `>`.
      const length = this.stack.closedBy(b, i + 2, n);
      if (length < 0) return this.tagRead(this.tags.endTag(b, i, n, this.stack, this.column));
      this.stack.pop();
      this.column += length + 3;
      this.pending = 0;
      return i + length + 3;
    }
    if (c === BANG) {
      if (i + 3 >= n) return MORE;
      if (b[i + 2] === DASH) {
        if (b[i + 3] !== DASH) return STOP;
        this.enterComment();
        return i + 4;
      }
      if (i + 8 >= n) return MORE;
      // <![CDATA[
      if (
        b[i + 2] !== 0x5b ||
        b[i + 3] !== 0x43 ||
        b[i + 4] !== 0x44 ||
        b[i + 5] !== 0x41 ||
        b[i + 6] !== 0x54 ||
        b[i + 7] !== 0x41 ||
        b[i + 8] !== 0x5b
      )
        return STOP;
      this.mode = Mode.Cdata;
      this.pending = 0;
      this.column += 9;
      return i + 9;
    }
    // The usual start tag: a name alone, in the root and within the limits.
    const end = asciiNameEnd(b, i + 1, n);
    const depth = this.stack.depth;
    if (
      end < n &&
      b[end] === GT &&
      end > i + 1 &&
      end - i - 1 <= XML_LIMITS.maxNameChars &&
      depth > 0 &&
      depth < XML_LIMITS.maxDepth
    ) {
      this.stack.push(b, i + 1, end);
      this.column += end - i + 1;
      this.pending = 0;
      return end + 1;
    }
    return this.tagRead(this.tags.startTag(b, i, n, this.stack, this.column, this.attributes));
  }

  /** After TagReader read a whole tag, its position and attributes become the screen's. */
  private tagRead(next: number): number {
    if (next < 0) return next;
    this.line += this.tags.lines;
    this.column = this.tags.column;
    this.attributes += this.tags.attributes;
    this.pending = 0;
    return next;
  }
}

/**
 * The one XML reader of scan reports, used by completeTask's upload check (ScanXmlCheck) and by
 * the import's parsers alike, so that whatever an upload passes, its import can read: same
 * decoding, same refusals, same limits (XML_LIMITS). A thin layer over saxes that streams: memory
 * stays bounded by the limits below and one slice of input, whatever the document's size.
 */
import { isAscii } from 'node:buffer';
import { SaxesParser } from 'saxes';
import { SaxesBuffers } from './saxes-internals';

/**
 * The bounds every scan report must stay within. Text content, CDATA and comments have no length
 * limit: they stream past (only text a parser captures is kept, up to its own limit). What saxes
 * must hold whole is bounded here.
 */
export const XML_LIMITS = Object.freeze({
  /**
   * Longest attribute value, processing instruction, DOCTYPE or XML declaration (characters), and
   * longest total of one start tag's attribute names and values.
   */
  maxTokenChars: 1024 * 1024,
  /** Longest element, attribute, processing-instruction target or entity name (characters). */
  maxNameChars: 4096,
  /** Deepest element nesting (the root is depth 1). */
  maxDepth: 1000,
  /** Scan reports carry a handful per element; the attribute bomb carried millions. */
  maxAttributesPerElement: 256,
  /** About twice what the densest real report (~2,000 per MB) would carry at the 1 GiB upload limit. */
  maxAttributesPerDocument: 4_000_000,
});

/**
 * Input is fed to saxes in slices of at most this many bytes, and what saxes holds of text, CDATA
 * and comments is taken after each, so that buffer never exceeds one slice.
 */
export const SLICE_BYTES = 64 * 1024;

/** Namespaces of XInclude (the W3C recommendation, and the 2003 draft libxml2 still honours). */
const XINCLUDE_NAMESPACES = new Set([
  'http://www.w3.org/2001/XInclude',
  'http://www.w3.org/2003/XInclude',
]);
/** Declared encodings accepted: the document is read as UTF-8, of which US-ASCII is a subset. */
const ACCEPTED_ENCODINGS = new Set(['utf-8', 'us-ascii']);

const MALFORMED = 'The XML was not well-formed and could not be parsed.';
/** Why a document is refused; the upload check answers them (422), the import prefixes its scanner. */
export const XML_REFUSALS = Object.freeze({
  malformed: MALFORMED,
  invalidUtf8: `${MALFORMED} (invalid UTF-8)`,
  empty: 'The uploaded file is empty.',
  unsafeDoctype:
    'The XML contains a DOCTYPE with entity declarations or an external reference; refused.',
  tooDeep: 'The XML nests elements too deeply.',
  tokenTooLarge: `The XML contains an attribute value, start tag, processing instruction or DOCTYPE longer than ${XML_LIMITS.maxTokenChars} characters; refused.`,
  nameTooLong: `The XML contains an element, attribute or entity name longer than ${XML_LIMITS.maxNameChars} characters; refused.`,
  tooManyAttributesOnElement: `The XML contains an element with more than ${XML_LIMITS.maxAttributesPerElement} attributes; refused.`,
  tooManyAttributes: `The XML contains more than ${XML_LIMITS.maxAttributesPerDocument} attributes; refused.`,
  xinclude: 'The XML uses XInclude (the http://www.w3.org/2001/XInclude namespace); refused.',
  stylesheet: 'The XML contains an xml-stylesheet processing instruction; refused.',
  encoding: (declared: string) =>
    `The XML declares the encoding "${declared}"; only UTF-8 is accepted.`,
});

/** A document the reader refuses: not well-formed, unsafe, or beyond XML_LIMITS. */
export class XmlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRefused';
  }
}

/** Where an XmlBodyScreen stopped (or may start), as saxes must be primed to go on. */
export interface BodyState {
  /** Open elements, root first; empty after the root closed. */
  stack: string[];
  /** saxes' line (from 1) and column (code points since the line's start) at the resume point. */
  line: number;
  column: number;
  /** Attributes read so far in the document (XML_LIMITS.maxAttributesPerDocument). */
  attributes: number;
  /** What the resume point is in, and the `]` (text, CDATA) or `-` (comment) just before it. */
  context: 'text' | 'comment' | 'cdata';
  pending: number;
}

/** Element names from the root down to the current element (inclusive). */
export type ElementPath = readonly string[];

export interface XmlHandlers {
  /** An element opened; `path` ends with `name`. Call `capture()` here to receive its text. */
  open?(name: string, path: ElementPath, attributes: Record<string, string>): void;
  /**
   * An element closed; `path` still ends with `name`. `text` is the trimmed text (and CDATA) inside
   * it, at most the capture limit long, when `capture()` was called at its open; otherwise null.
   */
  close?(name: string, path: ElementPath, text: string | null): void;
}

/** What a handler may ask of the reader while it runs. */
export interface XmlCursor {
  /** Name of the element `levels` above the current one (0 = current), or undefined. */
  parent(levels?: number): string | undefined;
  /**
   * Capture the text of the element just opened (call from `open`), keeping at most `limit`
   * characters after leading whitespace; the rest is dropped as it streams past.
   */
  capture(limit: number): void;
}

const STREAM_DECODE = { stream: true } as const;

/** Handlers throw: that aborts saxes mid-chunk and surfaces from write() or end(). */
function refuse(message: string): never {
  throw new XmlRefused(message);
}

/**
 * Reads one document. Refuses (XmlRefused) anything but well-formed UTF-8 XML within XML_LIMITS:
 * another declared encoding, a DOCTYPE with entity declarations or an external id (nothing is ever
 * resolved), XInclude, an xml-stylesheet PI. Errors thrown by the handlers pass through unchanged.
 */
export class SafeXmlReader implements XmlCursor {
  private readonly parser = new SaxesParser({ xmlns: false });
  private readonly buffers = new SaxesBuffers(this.parser);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The decoder may hold the start of a multi-byte character from the last chunk it saw. */
  private decoderPending = false;
  private decodedAny = false;
  private bytes = 0;
  private readonly stack: string[] = [];
  private attributes = 0;
  private elementAttributes = 0;
  private elementAttributeChars = 0;
  // Capture state: one element at a time (its descendants' text included).
  private captureDepth = 0;
  private captureLimit = 0;
  private captured = '';
  /** True while a caller's handler runs: what it throws is not saxes' and passes unchanged. */
  private handlerCall = false;
  /** True while resume() feeds made-up input: the caller's handlers do not hear it. */
  private priming = false;
  private readonly onText = (text: string): void => this.appendCapture(text);

  constructor(handlers: XmlHandlers) {
    const p = this.parser;
    const limits = XML_LIMITS;
    // Seven handlers at most, and no more: saxes stores each as a new property of the parser, and
    // an eighth turns it into a slow dictionary-mode object (a third of the speed; see the spec).
    // So saxes' own default error handler (it throws) is kept, and the XML declaration is read
    // from parser.xmlDecl rather than an event.
    p.on('doctype', (doctype) => {
      if (doctype.length > limits.maxTokenChars) refuse(XML_REFUSALS.tokenTooLarge);
      // Burp's exports carry an internal DTD of ELEMENT/ATTLIST declarations: that stays allowed.
      if (
        doctype.includes('<!ENTITY') ||
        doctype.includes('SYSTEM') ||
        doctype.includes('PUBLIC')
      ) {
        refuse(XML_REFUSALS.unsafeDoctype);
      }
    });
    p.on('processinginstruction', ({ target, body }) => {
      if (target.length > limits.maxNameChars) refuse(XML_REFUSALS.nameTooLong);
      if (body.length > limits.maxTokenChars) refuse(XML_REFUSALS.tokenTooLarge);
      if (target.toLowerCase() === 'xml-stylesheet') refuse(XML_REFUSALS.stylesheet);
    });
    // Fires for each attribute as saxes reads it, before the element's opentag: the counts stop a
    // bomb of millions of attributes after the first few hundred, not after the whole start tag.
    p.on('attribute', ({ name, value }) => {
      if (++this.elementAttributes > limits.maxAttributesPerElement)
        refuse(XML_REFUSALS.tooManyAttributesOnElement);
      if (++this.attributes > limits.maxAttributesPerDocument)
        refuse(XML_REFUSALS.tooManyAttributes);
      if (name.length > limits.maxNameChars) refuse(XML_REFUSALS.nameTooLong);
      this.elementAttributeChars += name.length + value.length;
      if (this.elementAttributeChars > limits.maxTokenChars) refuse(XML_REFUSALS.tokenTooLarge);
      // Without namespace processing, an XInclude element can only be there if declared so.
      if ((name === 'xmlns' || name.startsWith('xmlns:')) && XINCLUDE_NAMESPACES.has(value.trim()))
        refuse(XML_REFUSALS.xinclude);
    });
    p.on('opentag', (tag) => {
      this.elementAttributes = 0;
      this.elementAttributeChars = 0;
      if (this.stack.length === 0) this.checkDeclaration();
      if (tag.name.length > limits.maxNameChars) refuse(XML_REFUSALS.nameTooLong);
      this.stack.push(tag.name);
      if (this.stack.length > limits.maxDepth) refuse(XML_REFUSALS.tooDeep);
      if (this.priming) return;
      this.handlerCall = true;
      handlers.open?.(tag.name, this.stack, tag.attributes);
      this.handlerCall = false;
      // A self-closing tag gets its closetag event right after; nothing else to do here.
    });
    p.on('closetag', (tag) => {
      let text: string | null = null;
      if (this.captureDepth === this.stack.length) {
        text = this.captured.trimEnd();
        this.stopCapture();
      }
      if (!this.priming) {
        this.handlerCall = true;
        handlers.close?.(tag.name, this.stack, text);
        this.handlerCall = false;
      }
      this.stack.pop();
    });
    // CDATA is buffered by saxes whatever we do (drain() bounds it); we only keep it when capturing.
    p.on('cdata', this.onText);
  }

  /**
   * A reader that goes on from where an XmlBodyScreen stopped: saxes is primed with the open
   * elements (and the `]`, `<!--` or `<![CDATA[` the resume point is in) without the handlers
   * hearing them, and then reports errors at the screen's line and column.
   */
  static resume(handlers: XmlHandlers, state: BodyState): SafeXmlReader {
    const reader = new SafeXmlReader(handlers);
    let prefix = state.stack.length > 0 ? state.stack.map((name) => `<${name}>`).join('') : '<r/>';
    if (state.context === 'text') prefix += ']'.repeat(state.stack.length > 0 ? state.pending : 0);
    else if (state.context === 'comment') prefix += `<!--${'-'.repeat(state.pending)}`;
    else prefix += `<![CDATA[${']'.repeat(state.pending)}`;
    reader.priming = true;
    reader.feed(prefix);
    reader.priming = false;
    reader.buffers.setPosition(state.line, state.column);
    reader.attributes = state.attributes;
    reader.bytes = 1;
    reader.decodedAny = true; // a U+FEFF at the resume point is content, not a BOM
    return reader;
  }

  /**
   * Where an XmlBodyScreen may take over after the bytes written so far: saxes is in the text
   * content after the root's start tag (or after the root), holds nothing for the next write and
   * reads XML 1.0, and no text is being captured. Otherwise undefined.
   */
  bodyState(): BodyState | undefined {
    const p = this.parser;
    if (this.decoderPending || this.captureDepth !== 0) return undefined;
    if (this.stack.length === 0 && !this.buffers.rootClosed()) return undefined;
    const version = p.xmlDecl.version;
    if (version !== undefined && version !== '1.0') return undefined;
    const pending = this.buffers.textBrackets();
    if (pending === undefined) return undefined;
    return {
      stack: [...this.stack],
      line: p.line,
      column: p.column,
      attributes: this.attributes,
      context: 'text',
      pending,
    };
  }

  /** Elements from the root to the current one. */
  get path(): ElementPath {
    return this.stack;
  }

  parent(levels = 1): string | undefined {
    return this.stack[this.stack.length - 1 - levels];
  }

  capture(limit: number): void {
    if (this.captureDepth !== 0) return; // an ancestor is capturing; its text includes ours
    this.captureDepth = this.stack.length;
    this.captureLimit = limit;
    this.captured = '';
    // Only now does saxes start collecting text nodes; outside captures it skips them.
    this.parser.on('text', this.onText);
  }

  /** Feeds the next bytes of the document; handlers run synchronously and may throw. */
  write(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    for (let offset = 0; offset < bytes.length; offset += SLICE_BYTES) {
      const slice =
        offset === 0 && bytes.length <= SLICE_BYTES
          ? bytes
          : bytes.subarray(offset, offset + SLICE_BYTES);
      this.feed(this.decode(slice));
      this.drain();
    }
  }

  /** Ends the document: an empty, truncated or unclosed one is refused here. */
  end(): void {
    if (this.bytes === 0) refuse(XML_REFUSALS.empty);
    this.feed(this.decode()); // a truncated final character is refused in decode()
    this.feed(null); // saxes reports an unclosed root or a missing one
  }

  /**
   * One write to saxes (null: close). An error saxes throws (its default error handler) means the
   * XML is not well-formed; ours and the handlers' pass through as they are.
   */
  private feed(text: string | null): void {
    try {
      if (text === null) this.parser.close();
      else this.parser.write(text);
    } catch (err) {
      if (err instanceof XmlRefused || this.handlerCall) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      refuse(`${MALFORMED} (${reason.replace(/^(\d+):(\d+): /, 'line $1, column $2: ')})`);
    }
  }

  /** Before the root, the XML declaration (if any) has been read: only UTF-8 is accepted. */
  private checkDeclaration(): void {
    const { encoding } = this.parser.xmlDecl;
    if (encoding !== undefined && !ACCEPTED_ENCODINGS.has(encoding.toLowerCase()))
      refuse(XML_REFUSALS.encoding(encoding));
  }

  private appendCapture(text: string): void {
    if (this.captureDepth === 0) return;
    const room = this.captureLimit - this.captured.length;
    if (room <= 0) return;
    if (this.captured.length === 0) text = text.trimStart();
    this.captured += text.length > room ? text.slice(0, room) : text;
  }

  private stopCapture(): void {
    this.captureDepth = 0;
    this.captured = '';
    this.parser.off('text');
  }

  /**
   * After each slice: the text node or CDATA saxes is in the middle of goes to the capture (if any)
   * and leaves saxes' buffer, a comment's is dropped; a token saxes must keep whole, or a name,
   * already over its limit is refused now rather than when it ends.
   */
  private drain(): void {
    const pending = this.buffers.takeCharacterData();
    if (pending.length > 0) this.appendCapture(pending);
    else if (this.buffers.heldTokenChars() > XML_LIMITS.maxTokenChars)
      refuse(XML_REFUSALS.tokenTooLarge);
    if (this.buffers.heldNameChars() > XML_LIMITS.maxNameChars) refuse(XML_REFUSALS.nameTooLong);
  }

  /**
   * Strict UTF-8, without a leading BOM. A pure-ASCII chunk (the common case in scan reports) is
   * converted as latin1, several times faster than TextDecoder, unless the decoder still holds part
   * of a character. No chunk: the end, where a character left half-read is refused.
   */
  private decode(chunk?: Uint8Array): string {
    let text: string;
    try {
      if (chunk === undefined) {
        text = this.decoder.decode();
      } else if (!this.decoderPending && isAscii(chunk)) {
        text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
      } else {
        text = this.decoder.decode(chunk, STREAM_DECODE);
        // Conservative: only a final ASCII byte proves no character is left half-read.
        if (chunk.length > 0) this.decoderPending = chunk[chunk.length - 1] >= 0x80;
      }
    } catch {
      refuse(XML_REFUSALS.invalidUtf8);
    }
    if (!this.decodedAny && text.length > 0) {
      this.decodedAny = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading BOM is not content
    }
    return text;
  }
}

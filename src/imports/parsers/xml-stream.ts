import { isAscii } from 'node:buffer';
import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import type { FindingSink, NormalizedFinding, ParseSummary } from './normalized-finding';

/**
 * A report that cannot be turned into findings: not well-formed or truncated XML, invalid UTF-8, a
 * DOCTYPE declaring entities or pointing outside the file, or a root element of another format. The
 * message names the scanner, e.g. `ZAP report: not well-formed XML (line 3, column 5: ...)`.
 */
export class ScanReportParseError extends Error {
  constructor(
    readonly scanner: string,
    readonly reason: string,
  ) {
    super(`${scanner} report: ${reason}`);
    this.name = 'ScanReportParseError';
  }
}

/** Element names from the root down to the current element (inclusive). */
export type ElementPath = readonly string[];

export interface XmlHandlers {
  /** An element opened; `path` ends with `name`. Call `xml.capture()` here to receive its text. */
  open?(name: string, path: ElementPath, attributes: Record<string, string>): void;
  /**
   * An element closed; `path` still ends with `name`. `text` is the trimmed text (and CDATA) inside
   * it, at most the capture limit long, when `capture()` was called at its open; otherwise null.
   */
  close?(name: string, path: ElementPath, text: string | null): void;
}

export interface XmlReportFormat {
  /** Scanner name used in error messages ("ZAP"). */
  label: string;
  /** Root element names this format accepts; any other root is refused. */
  roots: readonly string[];
}

const MAX_DEPTH = 1000;
/**
 * saxes keeps attribute values, PIs and the DOCTYPE whole in its own buffer; we refuse one beyond this
 * size instead of letting it grow. Text, CDATA and comments are drained after every slice (see drain()).
 */
const MAX_TOKEN_CHARS = 1024 * 1024;
/**
 * Input is fed to saxes in slices of at most this many bytes, and the sink is awaited after each, so
 * the findings held at once are bounded however large the chunks the caller's stream yields.
 */
const SLICE_BYTES = 64 * 1024;

// saxes 6 internals, read and reset after each slice so its text buffer never outgrows one slice.
const S_TEXT = 13;
const S_COMMENT = 17;
const S_CDATA = 20;
const S_CDATA_ENDING_2 = 22;
interface SaxesInternals {
  state: number;
  text: string;
}

const STREAM_DECODE = { stream: true } as const;

/**
 * Thin wrapper over saxes for scan reports: keeps the element path, refuses DOCTYPEs with entities or
 * external ids (nothing is ever resolved), checks the root, and captures the text of chosen elements
 * up to a limit while streaming, so no field is ever held longer than its limit.
 */
export class XmlStream {
  private readonly parser = new SaxesParser({ xmlns: false });
  private readonly internals = this.parser as unknown as SaxesInternals;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private decoderPending = false;
  private decodedAny = false;
  private readonly stack: string[] = [];
  private sawRoot = false;
  // Capture state: one element at a time (its descendants' text included).
  private captureDepth = 0;
  private captureLimit = 0;
  private captured = '';
  private readonly onText = (text: string): void => this.appendCapture(text);

  constructor(
    private readonly format: XmlReportFormat,
    private readonly handlers: XmlHandlers,
  ) {
    const p = this.parser;
    p.on('error', (err) => {
      throw this.fail(
        `not well-formed XML (${err.message.replace(/^(\d+):(\d+): /, 'line $1, column $2: ')})`,
      );
    });
    p.on('doctype', (doctype) => {
      if (
        doctype.includes('<!ENTITY') ||
        doctype.includes('SYSTEM') ||
        doctype.includes('PUBLIC')
      ) {
        throw this.fail('DOCTYPE with entity declarations or an external reference refused');
      }
    });
    p.on('opentag', (tag) => {
      if (!this.sawRoot) {
        this.sawRoot = true;
        if (!format.roots.includes(tag.name)) {
          throw this.fail(
            `root element <${tag.name}> is not ${format.roots.map((r) => `<${r}>`).join(' or ')}`,
          );
        }
      }
      this.stack.push(tag.name);
      if (this.stack.length > MAX_DEPTH) throw this.fail('elements nested too deeply');
      handlers.open?.(tag.name, this.stack, tag.attributes as Record<string, string>);
      // A self-closing tag gets its closetag event right after; nothing else to do here.
    });
    p.on('closetag', (tag) => {
      let text: string | null = null;
      if (this.captureDepth === this.stack.length) {
        text = this.captured.trimEnd();
        this.stopCapture();
      }
      handlers.close?.(tag.name, this.stack, text);
      this.stack.pop();
    });
    // CDATA is buffered by saxes whatever we do (drain() bounds it); we only keep it when capturing.
    p.on('cdata', this.onText);
  }

  /** Name of the element `levels` above the current one (0 = current), or undefined. */
  parent(levels = 1): string | undefined {
    return this.stack[this.stack.length - 1 - levels];
  }

  /**
   * Capture the text of the element just opened (call from `open`), keeping at most `limit`
   * characters after leading whitespace; the rest is dropped as it streams past.
   */
  capture(limit: number): void {
    if (this.captureDepth !== 0) return; // an ancestor is capturing; its text includes ours
    this.captureDepth = this.stack.length;
    this.captureLimit = limit;
    this.captured = '';
    // Only now does saxes start collecting text nodes; outside captures it skips them.
    this.parser.on('text', this.onText);
  }

  /** Feeds bytes; handlers run synchronously and may throw ScanReportParseError. */
  write(bytes: Buffer): void {
    let text: string;
    try {
      text = this.decode(bytes);
    } catch {
      throw this.fail('not valid UTF-8');
    }
    this.parser.write(text);
    this.drain();
  }

  /** Ends the document: a truncated or empty report is refused here. */
  end(totalBytes: number): void {
    if (totalBytes === 0) throw this.fail('empty file');
    try {
      this.parser.write(this.decoder.decode());
    } catch (err) {
      if (err instanceof ScanReportParseError) throw err;
      throw this.fail('not valid UTF-8 (truncated character at the end)');
    }
    this.parser.close();
  }

  private fail(reason: string): ScanReportParseError {
    return new ScanReportParseError(this.format.label, reason);
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
   * saxes accumulates a text node, CDATA section or comment until it ends, possibly megabytes later.
   * After each slice we take what it holds (into the capture, if any, else nowhere) and clear it, so
   * its buffer never exceeds one slice. In these states its `text` holds only such pending content.
   */
  private drain(): void {
    const s = this.internals;
    if (s.text.length === 0) return;
    if (s.state === S_TEXT || (s.state >= S_CDATA && s.state <= S_CDATA_ENDING_2)) {
      this.appendCapture(s.text);
      s.text = '';
    } else if (s.state >= S_COMMENT && s.state < S_CDATA) {
      s.text = '';
    } else if (s.text.length > MAX_TOKEN_CHARS) {
      throw this.fail('an attribute value, processing instruction or DOCTYPE is too large');
    }
  }

  /** Strict UTF-8; an all-ASCII slice is converted as latin1, much faster than TextDecoder. */
  private decode(chunk: Buffer): string {
    let text: string;
    if (!this.decoderPending && isAscii(chunk)) {
      text = chunk.toString('latin1');
    } else {
      text = this.decoder.decode(chunk, STREAM_DECODE);
      // Conservative: only a final ASCII byte proves no character is left half-read.
      if (chunk.length > 0) this.decoderPending = chunk[chunk.length - 1] >= 0x80;
    }
    if (!this.decodedAny && text.length > 0) {
      this.decodedAny = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading BOM is not content
    }
    return text;
  }
}

/**
 * Runs one report through an XmlStream with backpressure: each input chunk is fed in slices; the
 * findings a slice completed are collected by `emit` and awaited one by one on the sink before the
 * next slice (and so the next chunk) is read.
 */
export async function parseXmlReport(
  input: Readable,
  onFinding: FindingSink,
  format: XmlReportFormat,
  build: (xml: XmlStream, emit: (finding: NormalizedFinding) => void) => XmlHandlers,
): Promise<ParseSummary> {
  const ready: NormalizedFinding[] = [];
  const emit = (finding: NormalizedFinding): void => {
    ready.push(finding);
  };
  let handlers: XmlHandlers = {};
  const xml = new XmlStream(format, {
    open: (name, path, attributes) => handlers.open?.(name, path, attributes),
    close: (name, path, text) => handlers.close?.(name, path, text),
  });
  handlers = build(xml, emit);
  let bytes = 0;
  let findings = 0;
  const flush = async (): Promise<void> => {
    for (let i = 0; i < ready.length; i++) await onFinding(ready[i]);
    findings += ready.length;
    ready.length = 0;
  };
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += buf.length;
    for (let off = 0; off < buf.length; off += SLICE_BYTES) {
      xml.write(buf.subarray(off, off + SLICE_BYTES));
      if (ready.length > 0) await flush();
    }
  }
  xml.end(bytes);
  await flush();
  return { findings, bytes };
}

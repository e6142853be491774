import { isAscii } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SaxesParser } from 'saxes';
import { RestError, UnprocessableScanFile } from '../rest/rest-error';
import { resolveScanner, type ScannerType } from './scanner-types';

/** What an upload turned out to be, once the whole file has passed. */
export interface ScanFileInspection {
  sizeBytes: number;
  sha256: string;
  scanner: ScannerType;
}

export interface ScanFileInspectorOptions {
  /** shortName of the scanner the task is for; a file of another known scanner is refused early. */
  expectedScanner?: string;
}

// ThreadFix's messages (clients match on them) and ours for the guards.
const MALFORMED = 'The XML was not well-formed and could not be parsed.';
const UNKNOWN_TYPE = 'Unable to determine scan type.';
const EMPTY = 'The uploaded file is empty.';
const UNSAFE_DOCTYPE =
  'The XML contains a DOCTYPE with entity declarations or an external reference; refused.';
const TOO_DEEP = 'The XML nests elements too deeply.';
const TOO_LARGE_TOKEN =
  'The XML contains a CDATA section, comment, attribute or DOCTYPE that is too large.';

const MAX_DEPTH = 1000;
/** Like ThreadFix's detector, only the first open-tag names are looked at. */
const MAX_DETECTION_TAGS = 11;
/**
 * saxes buffers CDATA, comments, PIs, attribute values and the DOCTYPE in full whatever handlers are
 * set (text content is skipped since we set no text handler). Capping that buffer bounds memory.
 */
const MAX_TOKEN_CHARS = 64 * 1024 * 1024;

/** Leading open-tag names (a prefix of the document's first tags) that identify each scanner. */
const SIGNATURES: ReadonlyArray<{ shortName: string; tags: readonly string[] }> = [
  { shortName: 'zap', tags: ['OWASPZAPReport'] },
  { shortName: 'zap', tags: ['report', 'alertitem'] },
  { shortName: 'burp', tags: ['issues'] },
  { shortName: 'acunetix', tags: ['ScanGroup', 'Scan'] },
  { shortName: 'appscan', tags: ['XmlReport'] },
  { shortName: 'appscan', tags: ['xml-report'] },
  { shortName: 'webinspect', tags: ['Sessions', 'Session'] },
  { shortName: 'spider', tags: ['VULNS'] },
  { shortName: 'spider', tags: ['VulnSummary'] },
  { shortName: 'spider', tags: ['WebAppScan'] },
];

// Reused for every chunk: no per-chunk options object.
const STREAM_DECODE = { stream: true } as const;

function knownScanner(shortName: string): ScannerType {
  const scanner = resolveScanner(shortName);
  if (scanner === undefined) throw new Error(`Unknown scanner "${shortName}"`);
  return scanner;
}

/** A valid report of another scanner than the task's. */
export class ScannerMismatch extends UnprocessableScanFile {
  constructor(detected: ScannerType, expected: ScannerType) {
    super(
      `The uploaded file is a report of ${detected.displayName}, but the task is for ${expected.displayName}.`,
    );
  }
}

/**
 * The XML half of the inspection, fed chunk by chunk: strict UTF-8, well-formed XML without
 * entities or external references, bounded depth and token size, and the scanner detected from the
 * first element names. Throws UnprocessableScanFile. Runs on the event loop or in a worker thread
 * (scan-xml-check.worker.ts); it holds no more than saxes' current token.
 */
export class ScanXmlCheck {
  // ignoreBOM: we drop the BOM ourselves, as chunks may bypass the decoder (see decode()).
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The decoder may hold the start of a multi-byte character from the last chunk it saw. */
  private decoderPending = false;
  private decodedAny = false;
  private readonly parser = new SaxesParser({ xmlns: false });
  private readonly expected: ScannerType | undefined;
  private sizeBytes = 0;
  private depth = 0;
  private readonly tagNames: string[] = [];
  /** undefined while detection is open; null once it failed. */
  private detected: ScannerType | null | undefined;

  constructor(options: ScanFileInspectorOptions = {}) {
    this.expected =
      options.expectedScanner === undefined ? undefined : knownScanner(options.expectedScanner);
    // Handlers throw: that aborts saxes mid-chunk, and _transform turns it into the callback error.
    this.parser.on('error', (err) => {
      throw new UnprocessableScanFile(
        `${MALFORMED} (${err.message.replace(/^(\d+):(\d+): /, 'line $1, column $2: ')})`,
      );
    });
    this.parser.on('doctype', (doctype) => {
      if (
        doctype.includes('<!ENTITY') ||
        doctype.includes('SYSTEM') ||
        doctype.includes('PUBLIC')
      ) {
        throw new UnprocessableScanFile(UNSAFE_DOCTYPE);
      }
    });
    this.parser.on('opentag', (tag) => {
      if (++this.depth > MAX_DEPTH) throw new UnprocessableScanFile(TOO_DEEP);
      if (this.detected === undefined && this.tagNames.length < MAX_DETECTION_TAGS) {
        this.tagNames.push(tag.name);
        this.detect(false);
      }
    });
    this.parser.on('closetag', () => {
      // The root closing ends detection: nothing after it can be an element.
      if (--this.depth === 0 && this.detected === undefined) this.detect(true);
    });
  }

  /** Checks the next chunk; throws UnprocessableScanFile as soon as the file cannot be valid. */
  write(chunk: Uint8Array): void {
    this.sizeBytes += chunk.length;
    try {
      this.parser.write(this.decode(chunk));
      this.checkTokenSize();
    } catch (err) {
      throw toScanFileError(err);
    }
  }

  /** After the last chunk: the detected scanner, or UnprocessableScanFile. */
  end(): ScannerType {
    if (this.sizeBytes === 0) throw new UnprocessableScanFile(EMPTY);
    try {
      this.parser.write(this.decoder.decode()); // throws on a truncated final character
      this.parser.close(); // reports an unclosed root or a missing one
    } catch (err) {
      throw toScanFileError(err);
    }
    if (!this.detected) throw new UnprocessableScanFile(UNKNOWN_TYPE);
    return this.detected;
  }

  /**
   * Strict UTF-8 decoding. A pure-ASCII chunk (the common case in scan files) is converted as latin1,
   * several times faster than TextDecoder, unless the decoder still holds part of a character.
   */
  private decode(chunk: Uint8Array): string {
    let text: string;
    if (!this.decoderPending && isAscii(chunk)) {
      text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
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

  /** Settles detection once a signature matches, none can, or the root closed (`rootClosed`). */
  private detect(rootClosed: boolean): void {
    const names = this.tagNames;
    let open = false;
    for (const sig of SIGNATURES) {
      const n = Math.min(sig.tags.length, names.length);
      let prefixMatches = true;
      for (let i = 0; i < n && prefixMatches; i++) prefixMatches = sig.tags[i] === names[i];
      if (!prefixMatches) continue;
      if (n === sig.tags.length) return this.settle(knownScanner(sig.shortName));
      open = true;
    }
    // An empty WebInspect report is a lone <Sessions/> root.
    if (rootClosed && names.length === 1 && names[0] === 'Sessions')
      return this.settle(knownScanner('webinspect'));
    if (!open || rootClosed || names.length >= MAX_DETECTION_TAGS) this.settle(null);
  }

  private settle(scanner: ScannerType | null): void {
    this.detected = scanner;
    if (scanner === null) throw new UnprocessableScanFile(UNKNOWN_TYPE);
    if (this.expected !== undefined && scanner !== this.expected) {
      throw new ScannerMismatch(scanner, this.expected);
    }
  }

  /** Refuses a token saxes is buffering beyond MAX_TOKEN_CHARS (its buffer is private, hence the cast). */
  private checkTokenSize(): void {
    const buffered = (this.parser as unknown as { text: unknown }).text;
    if (typeof buffered === 'string' && buffered.length > MAX_TOKEN_CHARS) {
      throw new UnprocessableScanFile(TOO_LARGE_TOKEN);
    }
  }
}

/** Where a ScanFileInspector sends the bytes to be checked: this thread, or a worker's. */
export interface ScanXmlCheckSession {
  /** Takes a chunk; a promise means "wait before sending more" (the checker is behind). */
  write(chunk: Buffer): void | Promise<void>;
  end(): ScannerType | Promise<ScannerType>;
  /** Frees the session after a failure elsewhere in the pipeline. */
  abort(): void;
  /** Called once if the check fails while no write or end is waiting. */
  onFailure?: (error: Error) => void;
}

/** Runs the check on the event loop (tests, or UPLOAD_CHECK_WORKERS=0). */
export function inlineScanXmlCheck(options: ScanFileInspectorOptions = {}): ScanXmlCheckSession {
  const check = new ScanXmlCheck(options);
  return { write: (chunk) => check.write(chunk), end: () => check.end(), abort: () => undefined };
}

/**
 * Pass-through stream that validates a scan upload while it streams to storage: counts and hashes
 * the bytes here, and hands them to a ScanXmlCheckSession for the XML checks and the scanner.
 * Failures surface as UnprocessableScanFile, so `pipeline(source, inspector, sink)` rejects with them.
 */
export class ScanFileInspector extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private sizeBytes = 0;
  private inspection: ScanFileInspection | undefined;
  private readonly check: ScanXmlCheckSession;

  constructor(options: ScanFileInspectorOptions & { check?: ScanXmlCheckSession } = {}) {
    super();
    this.check = options.check ?? inlineScanXmlCheck(options);
    // A worker's verdict may arrive between chunks: fail the pipeline at once.
    this.check.onFailure = (error) => this.destroy(error);
  }

  /** Size, hash and scanner of the file; only once the stream finished without error. */
  get result(): ScanFileInspection {
    if (this.inspection === undefined)
      throw new Error('ScanFileInspector: no result before a successful finish');
    return this.inspection;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sizeBytes += chunk.length;
    this.hash.update(chunk);
    let pending: void | Promise<void>;
    try {
      pending = this.check.write(chunk);
    } catch (err) {
      callback(toScanFileError(err));
      return;
    }
    if (pending === undefined) {
      callback(null, chunk);
      return;
    }
    // The chunk goes on to storage now; the next one waits until the checker has caught up.
    this.push(chunk);
    pending.then(
      () => callback(),
      (err: unknown) => callback(toScanFileError(err)),
    );
  }

  override _flush(callback: TransformCallback): void {
    Promise.resolve()
      .then(() => this.check.end())
      .then(
        (scanner) => {
          this.inspection = {
            sizeBytes: this.sizeBytes,
            sha256: this.hash.digest('hex'),
            scanner,
          };
          callback();
        },
        (err: unknown) => callback(toScanFileError(err)),
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.inspection === undefined) this.check.abort();
    callback(error);
  }
}

/** Anything else thrown while decoding/parsing means the bytes are not XML. */
export function toScanFileError(err: unknown): RestError {
  // Our 422s, and a 503 when a checker worker died, pass as they are.
  if (err instanceof RestError) return err;
  if ((err as NodeJS.ErrnoException).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
    return new UnprocessableScanFile(`${MALFORMED} (invalid UTF-8)`);
  }
  return new UnprocessableScanFile(
    `${MALFORMED} (${err instanceof Error ? err.message : String(err)})`,
  );
}

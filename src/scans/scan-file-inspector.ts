import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { RestError, UnprocessableScanFile } from '../rest/rest-error';
import {
  SafeXmlReader,
  SLICE_BYTES,
  XML_REFUSALS,
  XmlRefused,
  type BodyState,
  type XmlHandlers,
} from './formats/safe-xml-reader';
import { XmlBodyScreen } from './formats/xml-body-screen';
import {
  detectScanFormat,
  scannerOf,
  unsupportedFormatMessage,
  type Detection,
} from './formats/scan-formats';
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

// ThreadFix's message (clients match on it).
const UNKNOWN_TYPE = 'Unable to determine scan type.';

/** A valid report of another scanner than the task's. */
export class ScannerMismatch extends UnprocessableScanFile {
  constructor(detected: ScannerType, expected: ScannerType) {
    super(
      `The uploaded file is a report of ${detected.displayName}, but the task is for ${expected.displayName}.`,
    );
  }
}

/**
 * After this many hand-overs from the body screen back to saxes, saxes reads the rest: a document
 * the screen keeps stopping in (non-ASCII names, say) would only pay for priming saxes again.
 */
const MAX_HAND_BACKS = 8;

/**
 * The XML half of the inspection, fed chunk by chunk: the safe XML reader (the import's own, with
 * the same limits and refusals) and the scanner's format detected from the first element names.
 * Once the format is known, the rest of the body goes through XmlBodyScreen (several times
 * saxes' speed), which hands anything it does not accept back to a reader primed where it stopped,
 * so every verdict and message is the reader's. Throws UnprocessableScanFile. Runs on the event
 * loop or in a worker thread (scan-xml-check.worker.ts); it holds no more than the reader does.
 */
export class ScanXmlCheck {
  private readonly handlers: XmlHandlers;
  private reader: SafeXmlReader;
  private screen: XmlBodyScreen | undefined;
  private handBacks = 0;
  private readonly screening: boolean;
  private readonly expected: ScannerType | undefined;
  private readonly tags: string[] = [];
  /** undefined while detection is open. */
  private detected: ScannerType | undefined;
  /** Bytes the screen read instead of saxes (for tests). */
  screenedBytes = 0;

  /** `screen: false` leaves the whole document to saxes (the tests' reference). */
  constructor(options: ScanFileInspectorOptions & { screen?: boolean } = {}) {
    if (options.expectedScanner !== undefined) {
      this.expected = resolveScanner(options.expectedScanner);
      if (this.expected === undefined)
        throw new Error(`Unknown scanner "${options.expectedScanner}"`);
    }
    this.screening = options.screen ?? true;
    this.handlers = {
      open: (name) => {
        if (this.detected !== undefined) return;
        this.tags.push(name);
        this.settle(detectScanFormat(this.tags, false));
      },
      close: (_name, path) => {
        // The root closing ends detection: nothing after it can be an element.
        if (path.length === 1 && this.detected === undefined)
          this.settle(detectScanFormat(this.tags, true));
      },
    };
    this.reader = new SafeXmlReader(this.handlers);
  }

  /** Checks the next chunk; throws UnprocessableScanFile as soon as the file cannot be valid. */
  write(chunk: Uint8Array): void {
    try {
      let bytes: Uint8Array | undefined = chunk;
      while (bytes !== undefined && bytes.length > 0) {
        if (this.screen === undefined) {
          bytes = this.readWithSaxes(bytes);
          continue;
        }
        const handOver = this.screen.write(bytes);
        if (handOver === undefined) {
          this.screenedBytes += bytes.length;
          return;
        }
        this.screenedBytes += Math.max(0, bytes.length - handOver.rest.length);
        this.backToSaxes(handOver.state);
        bytes = handOver.rest;
      }
    } catch (err) {
      throw toScanFileError(err);
    }
  }

  /** After the last chunk: the detected scanner, or UnprocessableScanFile. */
  end(): ScannerType {
    try {
      const handOver = this.screen?.end();
      if (this.screen === undefined) this.reader.end();
      else if (handOver !== undefined) {
        this.backToSaxes(handOver.state);
        this.reader.write(handOver.rest);
        this.reader.end();
      }
    } catch (err) {
      throw toScanFileError(err);
    }
    if (this.detected === undefined) throw new UnprocessableScanFile(UNKNOWN_TYPE);
    return this.detected;
  }

  /**
   * saxes reads `bytes` slice by slice; once the format is known and saxes stands in the body's
   * text between two slices, the screen takes the rest, which is returned.
   */
  private readWithSaxes(bytes: Uint8Array): Uint8Array | undefined {
    for (let offset = 0; offset < bytes.length; offset += SLICE_BYTES) {
      const end = Math.min(bytes.length, offset + SLICE_BYTES);
      this.reader.write(bytes.subarray(offset, end));
      if (!this.screening || this.detected === undefined || this.handBacks >= MAX_HAND_BACKS)
        continue;
      const state = this.reader.bodyState();
      if (state === undefined) continue;
      this.screen = new XmlBodyScreen(state);
      return bytes.subarray(end);
    }
    return undefined;
  }

  private backToSaxes(state: BodyState): void {
    this.screen = undefined;
    this.handBacks++;
    this.reader = SafeXmlReader.resume(this.handlers, state);
  }

  /** Settles detection once the format is known, none can match, or the root closed. */
  private settle(detection: Detection | undefined): void {
    if (detection === undefined) return;
    if (detection === null) throw new UnprocessableScanFile(UNKNOWN_TYPE);
    if (detection.unsupportedRoot !== undefined)
      throw new UnprocessableScanFile(
        unsupportedFormatMessage(detection.format, detection.unsupportedRoot),
      );
    const scanner = scannerOf(detection.format);
    this.detected = scanner;
    if (this.expected !== undefined && scanner !== this.expected) {
      throw new ScannerMismatch(scanner, this.expected);
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

/** The reader's refusals are 422s; anything else thrown while parsing means the bytes are not XML. */
export function toScanFileError(err: unknown): RestError {
  // Our 422s, and a 503 when a checker worker died, pass as they are.
  if (err instanceof RestError) return err;
  if (err instanceof XmlRefused) return new UnprocessableScanFile(err.message);
  return new UnprocessableScanFile(
    `${XML_REFUSALS.malformed} (${err instanceof Error ? err.message : String(err)})`,
  );
}

import type { Readable } from 'node:stream';
import {
  SafeXmlReader,
  SLICE_BYTES,
  XmlRefused,
  type XmlCursor,
  type XmlHandlers,
} from '../safe-xml-reader';
import type { FindingSink, NormalizedFinding, ParseSummary } from './normalized-finding';

/**
 * A report that cannot be turned into findings: refused by the XML reader (not well-formed or
 * truncated XML, invalid UTF-8, a DOCTYPE with entities, a limit...) or with a root element of
 * another format. The message names the scanner, e.g.
 * `ZAP report: The XML was not well-formed and could not be parsed. (line 3, column 5: ...)`.
 */
export class ScanReportParseError extends Error {
  constructor(
    /** The scanner as the message names it ("ZAP"). */
    readonly scanner: string,
    readonly reason: string,
  ) {
    super(`${scanner} report: ${reason}`);
    this.name = 'ScanReportParseError';
  }
}

/**
 * One scanner's parser: handlers that turn the report's elements into findings, handed to `emit`
 * as each one is complete. Called once per report, so its closure holds that report's state.
 */
export type ReportParser = (
  xml: XmlCursor,
  emit: (finding: NormalizedFinding) => void,
) => XmlHandlers;

/** What reading a report needs of its scanner's entry in the format table. */
export interface ReportFormat {
  /** Scanner name used in error messages ("ZAP"). */
  label: string;
  /** Root element names the parser reads; any other root is refused. */
  roots: readonly string[];
  parser: ReportParser;
}

/**
 * Runs one report through the safe XML reader with backpressure: each input chunk is fed in
 * slices; the findings a slice completed are awaited one by one on the sink before the next slice
 * (and so the next chunk) is read, so the findings held at once are bounded whatever the chunks.
 */
export async function readReport(
  input: Readable,
  onFinding: FindingSink,
  format: ReportFormat,
): Promise<ParseSummary> {
  const ready: NormalizedFinding[] = [];
  const emit = (finding: NormalizedFinding): void => {
    ready.push(finding);
  };
  const fail = (reason: string) => new ScanReportParseError(format.label, reason);
  let handlers: XmlHandlers = {};
  const xml = new SafeXmlReader({
    open: (name, path, attributes) => {
      if (path.length === 1 && !format.roots.includes(name)) {
        throw fail(
          `root element <${name}> is not ${format.roots.map((r) => `<${r}>`).join(' or ')}`,
        );
      }
      handlers.open?.(name, path, attributes);
    },
    close: (name, path, text) => handlers.close?.(name, path, text),
  });
  handlers = format.parser(xml, emit);
  let bytes = 0;
  let findings = 0;
  const flush = async (): Promise<void> => {
    for (let i = 0; i < ready.length; i++) await onFinding(ready[i]);
    findings += ready.length;
    ready.length = 0;
  };
  const refusedAs = (err: unknown): unknown =>
    err instanceof XmlRefused ? fail(err.message) : err;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += buf.length;
    for (let off = 0; off < buf.length; off += SLICE_BYTES) {
      try {
        xml.write(buf.subarray(off, off + SLICE_BYTES));
      } catch (err) {
        throw refusedAs(err);
      }
      if (ready.length > 0) await flush();
    }
  }
  try {
    xml.end();
  } catch (err) {
    throw refusedAs(err);
  }
  await flush();
  return { findings, bytes };
}

/**
 * The one table of scanner report formats: per scan-agent scanner, how completeTask recognises its
 * report (signatures), which root elements its parser reads, which roots of the scanner's other
 * formats are refused at upload (so the agent hears why), and the parser. The upload check and the
 * import both read this table, so a report the upload detects is one the import can parse.
 */
import type { Readable } from 'node:stream';
import { resolveScanner, type ScannerType } from '../scanner-types';
import { acunetixParser } from './parsers/acunetix.parser';
import { appScanParser } from './parsers/appscan.parser';
import { appSpiderParser } from './parsers/appspider.parser';
import { burpParser } from './parsers/burp.parser';
import type { FindingSink, ParseSummary } from './parsers/normalized-finding';
import { readReport, type ReportFormat } from './parsers/read-report';
import { webInspectParser } from './parsers/webinspect.parser';
import { zapParser } from './parsers/zap.parser';

export interface FormatSignature {
  /** The document's first open tags, root first (like ThreadFix's detector, only these are read). */
  tags: readonly string[];
  /** The root alone, closed before a second element, is also this format (an empty report). */
  emptyRoot?: boolean;
}

export interface ScanFormat extends ReportFormat {
  /** The scanner's shortName (scanner-types.ts). */
  scanner: string;
  /** How the upload check recognises a report; each one's first tag is one of `roots`. */
  signatures: readonly FormatSignature[];
  /** Roots of the scanner's other report formats, which no parser reads: refused at upload. */
  unsupportedRoots: readonly string[];
}

export const SCAN_FORMATS: readonly ScanFormat[] = Object.freeze([
  {
    scanner: 'zap',
    label: 'ZAP',
    // <report> is ZAP before 2.x; alone it is too common a name, so its first <alertitem> decides.
    signatures: [{ tags: ['OWASPZAPReport'] }, { tags: ['report', 'alertitem'] }],
    roots: ['OWASPZAPReport', 'report'],
    unsupportedRoots: [],
    parser: zapParser,
  },
  {
    scanner: 'burp',
    label: 'Burp',
    signatures: [{ tags: ['issues'] }],
    roots: ['issues'],
    unsupportedRoots: [],
    parser: burpParser,
  },
  {
    scanner: 'acunetix',
    label: 'Acunetix',
    signatures: [{ tags: ['ScanGroup', 'Scan'] }],
    roots: ['ScanGroup'],
    unsupportedRoots: [],
    parser: acunetixParser,
  },
  {
    scanner: 'appscan',
    label: 'AppScan',
    signatures: [{ tags: ['xml-report'] }],
    roots: ['xml-report'],
    // AppScan's older XML export; ThreadFix detected it, but no parser here reads it.
    unsupportedRoots: ['XmlReport'],
    parser: appScanParser,
  },
  {
    scanner: 'webinspect',
    label: 'WebInspect',
    signatures: [{ tags: ['Sessions', 'Session'], emptyRoot: true }],
    roots: ['Sessions'],
    unsupportedRoots: [],
    parser: webInspectParser,
  },
  {
    scanner: 'spider',
    label: 'AppSpider',
    signatures: [{ tags: ['VulnSummary'] }],
    roots: ['VulnSummary'],
    // NTO Spider's older exports; ThreadFix detected them, but no parser here reads them.
    unsupportedRoots: ['VULNS', 'WebAppScan'],
    parser: appSpiderParser,
  },
]);

const BY_SCANNER = new Map(SCAN_FORMATS.map((format) => [format.scanner, format]));

/** The format of the scanner with this shortName, or undefined. */
export function scanFormatOf(shortName: string): ScanFormat | undefined {
  return BY_SCANNER.get(shortName);
}

/** The scan-agent scanner of a format. */
export function scannerOf(format: ScanFormat): ScannerType {
  const scanner = resolveScanner(format.scanner);
  if (scanner === undefined) throw new Error(`Unknown scanner "${format.scanner}"`);
  return scanner;
}

export type Detection =
  /** A report this format's parser reads. */
  | { format: ScanFormat; unsupportedRoot?: undefined }
  /** A report of this format's scanner, in a format nothing reads. */
  | { format: ScanFormat; unsupportedRoot: string }
  /** No scanner's report. */
  | null;

/**
 * The format of a document from its first open-tag names (`tags`, root first), or undefined while
 * more tags could still decide it. `rootClosed`: the root has closed, so no tag will follow.
 */
export function detectScanFormat(
  tags: readonly string[],
  rootClosed: boolean,
): Detection | undefined {
  const root = tags[0];
  let undecided = false;
  for (const format of SCAN_FORMATS) {
    if (format.unsupportedRoots.includes(root)) return { format, unsupportedRoot: root };
    for (const signature of format.signatures) {
      const n = Math.min(signature.tags.length, tags.length);
      let prefixMatches = true;
      for (let i = 0; i < n && prefixMatches; i++) prefixMatches = signature.tags[i] === tags[i];
      if (!prefixMatches) continue;
      if (n === signature.tags.length) return { format };
      if (rootClosed && signature.emptyRoot && tags.length === 1) return { format };
      undecided = true;
    }
  }
  return undecided && !rootClosed ? undefined : null;
}

/** Why a report of an unsupported format is refused, naming the root that is supported. */
export function unsupportedFormatMessage(format: ScanFormat, root: string): string {
  const name = scannerOf(format).displayName;
  const supported = format.roots.map((r) => `<${r}>`).join(' or ');
  return `The uploaded file is a report of ${name} with the root element <${root}>, a format scanqueue cannot import; ${name} reports must have the root element ${supported}.`;
}

/**
 * Streams `input` (a report of the named scanner) into findings, awaiting `onFinding` for each before
 * reading on. Rejects with ScanReportParseError for a report the XML reader refuses or of another
 * format; with an UnknownReportFormat for a scanner it has no format of.
 */
/** A scanner this table has no report format of: its reports cannot be imported. */
export class UnknownReportFormat extends Error {
  constructor(scannerShortName: string) {
    super(`No scan report parser for scanner "${scannerShortName}"`);
    this.name = 'UnknownReportFormat';
  }
}

export function parseScanReport(
  scannerShortName: string,
  input: Readable,
  onFinding: FindingSink,
): Promise<ParseSummary> {
  const format = scanFormatOf(scannerShortName);
  if (format === undefined) {
    return Promise.reject(new UnknownReportFormat(scannerShortName));
  }
  return readReport(input, onFinding, format);
}

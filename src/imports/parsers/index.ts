import type { Readable } from 'node:stream';
import type { FindingSink, ParseSummary, ScanReportParser } from './normalized-finding';
import { parseAcunetixReport } from './acunetix.parser';
import { parseAppScanReport } from './appscan.parser';
import { parseAppSpiderReport } from './appspider.parser';
import { parseBurpReport } from './burp.parser';
import { parseWebInspectReport } from './webinspect.parser';
import { parseZapReport } from './zap.parser';

export * from './normalized-finding';
export { ScanReportParseError } from './xml-stream';
export { findingFingerprint } from './fingerprint';

/** The streaming parser of each scan-agent scanner, by shortName (see src/scans/scanner-types.ts). */
export const PARSERS: Record<string, ScanReportParser> = {
  zap: parseZapReport,
  burp: parseBurpReport,
  acunetix: parseAcunetixReport,
  appscan: parseAppScanReport,
  webinspect: parseWebInspectReport,
  spider: parseAppSpiderReport,
};

/**
 * Streams `input` (a report of the named scanner) into findings, awaiting `onFinding` for each before
 * reading on. Rejects with ScanReportParseError for a report that is not well-formed, truncated, has a
 * DOCTYPE with entities, or is of another format; with a plain Error for an unknown scanner.
 */
export function parseScanReport(
  scannerShortName: string,
  input: Readable,
  onFinding: FindingSink,
): Promise<ParseSummary> {
  const parser = Object.hasOwn(PARSERS, scannerShortName) ? PARSERS[scannerShortName] : undefined;
  if (parser === undefined) {
    return Promise.reject(new Error(`No scan report parser for scanner "${scannerShortName}"`));
  }
  return parser(input, onFinding);
}

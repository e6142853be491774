/** Scanner report formats: the table, the safe XML reader both the upload check and the import use, the parsers. */
export * from './parsers/normalized-finding';
export { ScanReportParseError } from './parsers/read-report';
export { findingFingerprint } from './parsers/fingerprint';
export {
  parseScanReport,
  SCAN_FORMATS,
  scanFormatOf,
  UnknownReportFormat,
  type ScanFormat,
} from './scan-formats';
export { XML_LIMITS, XmlRefused } from './safe-xml-reader';

import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { UnprocessableScanFile } from '../../rest/rest-error';
import { ScanXmlCheck } from '../scan-file-inspector';
import { SCAN_AGENT_SCANNERS } from '../scanner-types';
import { ScanReportParseError } from './parsers/read-report';
import { SafeXmlReader, XML_LIMITS, XML_REFUSALS } from './safe-xml-reader';
import {
  detectScanFormat,
  parseScanReport,
  SCAN_FORMATS,
  unsupportedFormatMessage,
  type Detection,
} from './scan-formats';

const FIXTURES = path.join(__dirname, '../../../test/fixtures/scans');
/** Fixture folder → shortName (the folder is named after the product, not the id). */
const FOLDER_SCANNER: Record<string, string> = {
  acunetix: 'acunetix',
  appscan: 'appscan',
  appspider: 'spider',
  burp: 'burp',
  webinspect: 'webinspect',
  zap: 'zap',
};
const fixtures = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(path.join(FIXTURES, d.name))
      .filter((f) => f.endsWith('.xml'))
      .map((f) => `${d.name}/${f}`),
  );

/** Detection as the upload check runs it: tag by tag until settled, or at the root's end. */
function detect(xml: string | Buffer): Detection {
  const tags: string[] = [];
  let detection: Detection | undefined;
  const reader = new SafeXmlReader({
    open(name) {
      if (detection !== undefined) return;
      tags.push(name);
      detection = detectScanFormat(tags, false);
    },
    close(_name, elementPath) {
      if (elementPath.length === 1 && detection === undefined)
        detection = detectScanFormat(tags, true);
    },
  });
  reader.write(typeof xml === 'string' ? Buffer.from(xml) : xml);
  reader.end();
  if (detection === undefined) throw new Error('undecided');
  return detection;
}

describe('the scan format table', () => {
  it('has one entry per scan-agent scanner, and none for anything else', () => {
    expect(SCAN_FORMATS.map((f) => f.scanner).sort()).toEqual(
      SCAN_AGENT_SCANNERS.map((s) => s.shortName).sort(),
    );
  });

  it("every root a signature detects is one its parser reads; refused roots are no one's", () => {
    const allRoots = SCAN_FORMATS.flatMap((f) => f.roots);
    expect(new Set(allRoots).size).toBe(allRoots.length);
    for (const format of SCAN_FORMATS) {
      expect(format.signatures.length).toBeGreaterThan(0);
      for (const signature of format.signatures) expect(format.roots).toContain(signature.tags[0]);
      for (const root of format.unsupportedRoots) expect(allRoots).not.toContain(root);
    }
  });

  it('every root the detector accepts is one the parser accepts (checked through both)', async () => {
    for (const format of SCAN_FORMATS) {
      for (const signature of format.signatures) {
        const xml = `<${signature.tags.join('><')}>${signature.tags
          .slice()
          .reverse()
          .map((t) => `</${t}>`)
          .join('')}`;
        expect(detect(xml)).toEqual({ format });
        // The parser reads it (no findings in a skeleton, but no refusal of its root either).
        await expect(
          parseScanReport(format.scanner, Readable.from([Buffer.from(xml)]), () => undefined),
        ).resolves.toMatchObject({ bytes: xml.length });
      }
    }
  });

  it.each(fixtures)(
    "detects %s as its scanner, and that scanner's parser reads it",
    async (file) => {
      const content = readFileSync(path.join(FIXTURES, file));
      const detection = detect(content);
      expect(detection?.format.scanner).toBe(FOLDER_SCANNER[file.split('/')[0]]);
      expect(detection?.unsupportedRoot).toBeUndefined();
      const summary = await parseScanReport(
        detection?.format.scanner ?? '',
        createReadStream(path.join(FIXTURES, file)),
        () => undefined,
      );
      expect(summary.bytes).toBe(content.length);
    },
  );

  it('recognises the roots of formats no parser reads, naming the supported root', () => {
    const cases = [
      ['<XmlReport><Summary/></XmlReport>', 'appscan', 'XmlReport', '<xml-report>'],
      ['<VULNS><VULN/></VULNS>', 'spider', 'VULNS', '<VulnSummary>'],
      ['<WebAppScan/>', 'spider', 'WebAppScan', '<VulnSummary>'],
    ] as const;
    for (const [xml, scanner, root, supported] of cases) {
      const detection = detect(xml);
      expect(detection).toMatchObject({ format: { scanner }, unsupportedRoot: root });
      const message = unsupportedFormatMessage(detection!.format, root);
      expect(message).toContain(`<${root}>`);
      expect(message).toContain(`must have the root element ${supported}`);
    }
  });

  it('settles nothing for other documents: an unknown root, an old-ZAP root with another child', () => {
    expect(detect('<nessus><report/></nessus>')).toBeNull();
    expect(detect('<report><foo/></report>')).toBeNull();
    expect(detect('<report>Report</report>')).toBeNull();
    expect(detect('<Sessions/>')).toMatchObject({ format: { scanner: 'webinspect' } });
    expect(detectScanFormat(['ScanGroup'], false)).toBeUndefined();
  });
});

describe('the upload check and the import: one reader, one verdict', () => {
  /** The upload check's message (its 422), or null if it accepts. */
  function uploadVerdict(xml: string): string | null {
    const check = new ScanXmlCheck();
    try {
      check.write(Buffer.from(xml));
      check.end();
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(UnprocessableScanFile);
      return (err as Error).message;
    }
  }

  /** The import's reason (after "ZAP report: "), or null if it reads the report. */
  async function importVerdict(xml: string): Promise<string | null> {
    try {
      await parseScanReport('zap', Readable.from([Buffer.from(xml)]), () => undefined);
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(ScanReportParseError);
      return (err as ScanReportParseError).reason;
    }
  }

  const attributes = (n: number) => Array.from({ length: n }, (_, i) => ` a${i}=""`).join('');
  const zap = (inner: string, head = '') =>
    `${head}<OWASPZAPReport version="2.16.1"><site name="x">${inner}</site></OWASPZAPReport>`;

  it.each([
    [
      'a 2 MiB attribute (accepted at upload before, then failed its import)',
      zap(`<alerts a="${'v'.repeat(2 * 1024 * 1024)}"/>`),
      XML_REFUSALS.tokenTooLarge,
    ],
    [
      '257 attributes on one element',
      zap(`<alerts${attributes(XML_LIMITS.maxAttributesPerElement + 1)}/>`),
      XML_REFUSALS.tooManyAttributesOnElement,
    ],
    [
      'a long element name',
      zap(`<${'n'.repeat(XML_LIMITS.maxNameChars + 1)}/>`),
      XML_REFUSALS.nameTooLong,
    ],
    [
      'UTF-16 declared',
      zap('', '<?xml version="1.0" encoding="UTF-16"?>'),
      XML_REFUSALS.encoding('UTF-16'),
    ],
    ['XInclude', zap('<x xmlns:xi="http://www.w3.org/2001/XInclude"/>'), XML_REFUSALS.xinclude],
    ['xml-stylesheet', zap('', '<?xml-stylesheet href="s.xsl"?>'), XML_REFUSALS.stylesheet],
    [
      'an entity declaration',
      zap('', '<!DOCTYPE r [<!ENTITY e "x">]>'),
      XML_REFUSALS.unsafeDoctype,
    ],
    [
      'a 16 MB CDATA section (streamed, so accepted by both)',
      zap(`<alerts><![CDATA[${'c'.repeat(16 * 1024 * 1024)}]]></alerts>`),
      null,
    ],
  ])('%s', async (_, xml, expected) => {
    expect(uploadVerdict(xml)).toBe(expected);
    expect(await importVerdict(xml)).toBe(expected);
  });
});

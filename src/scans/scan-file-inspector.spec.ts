import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UnprocessableScanFile } from '../rest/rest-error';
import { ScanFileInspector, type ScanFileInspectorOptions } from './scan-file-inspector';

const FIXTURES = path.join(__dirname, '../../test/fixtures/scans');
/** Fixture folder → expected shortName (the folder is named after the product, not the id). */
const FOLDER_SCANNER: Record<string, string> = {
  acunetix: 'acunetix',
  appscan: 'appscan',
  appspider: 'spider',
  burp: 'burp',
  webinspect: 'webinspect',
  zap: 'zap',
};
const MALFORMED = 'The XML was not well-formed and could not be parsed.';

function sink(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

async function inspect(
  source: Readable,
  options?: ScanFileInspectorOptions,
): Promise<ScanFileInspector> {
  const inspector = new ScanFileInspector(options);
  await pipeline(source, inspector, sink());
  return inspector;
}

function bytes(...parts: Array<string | Buffer>): Readable {
  return Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

async function expect422(
  source: Readable,
  message: string | RegExp,
  options?: ScanFileInspectorOptions,
): Promise<void> {
  const err: unknown = await inspect(source, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnprocessableScanFile);
  expect((err as UnprocessableScanFile).message).toMatch(message);
}

const fixtureFiles = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(path.join(FIXTURES, d.name))
      .filter((f) => f.endsWith('.xml'))
      .map((f) => [d.name, f] as const),
  );

describe('ScanFileInspector', () => {
  it('finds fixtures in every folder', () => {
    expect(new Set(fixtureFiles.map(([folder]) => folder))).toEqual(
      new Set(Object.keys(FOLDER_SCANNER)),
    );
  });

  it.each(fixtureFiles)('detects %s/%s with its size and sha256', async (folder, file) => {
    const filePath = path.join(FIXTURES, folder, file);
    const content = readFileSync(filePath);
    // Small chunks so tags, the BOM and multi-byte characters straddle chunk boundaries.
    const inspector = await inspect(createReadStream(filePath, { highWaterMark: 1000 }), {
      expectedScanner: FOLDER_SCANNER[folder],
    });
    expect(inspector.result).toEqual({
      sizeBytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      scanner: expect.objectContaining({ shortName: FOLDER_SCANNER[folder] }),
    });
  });

  it('passes every byte through unchanged', async () => {
    const content = readFileSync(path.join(FIXTURES, 'burp/one_finding.xml'));
    const received: Buffer[] = [];
    const collector = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    });
    await pipeline(Readable.from([content]), new ScanFileInspector(), collector);
    expect(Buffer.concat(received).equals(content)).toBe(true);
  });

  it('refuses a Burp file uploaded for a ZAP task', async () => {
    await expect422(
      createReadStream(path.join(FIXTURES, 'burp/seven_findings.xml')),
      'The uploaded file is a report of Burp Suite Pro, but the task is for OWASP Zed Attack Proxy.',
      { expectedScanner: 'zap' },
    );
  });

  it('refuses a mismatch before reading the rest of the file', async () => {
    let chunksRead = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from('<?xml version="1.0"?><issues>');
      for (;;) {
        chunksRead++;
        yield Buffer.from('<issue><name>x</name></issue>');
      }
    }
    await expect422(Readable.from(endless()), /is a report of Burp Suite Pro/, {
      expectedScanner: 'zap',
    });
    expect(chunksRead).toBeLessThan(100);
  });

  it('refuses malformed XML', async () => {
    await expect422(
      bytes('<?xml version="1.0"?><OWASPZAPReport><site></OWASPZAPReport>'),
      MALFORMED,
    );
  });

  it('refuses an unclosed root at end of file', async () => {
    await expect422(bytes('<OWASPZAPReport><site></site>'), MALFORMED);
  });

  it('refuses an XXE entity declaration', async () => {
    await expect422(
      bytes('<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>'),
      'The XML contains a DOCTYPE with entity declarations or an external reference; refused.',
    );
  });

  it('refuses an external DTD', async () => {
    await expect422(
      bytes('<!DOCTYPE issues SYSTEM "http://example.com/x.dtd"><issues/>'),
      /DOCTYPE with entity/,
    );
  });

  it('refuses billion laughs', async () => {
    const lol = [
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`,
      ),
      ']><lolz>&lol9;</lolz>',
    ].join('');
    await expect422(bytes(lol), /DOCTYPE with entity/);
  });

  it('turns an undeclared entity reference into a 422', async () => {
    await expect422(bytes('<OWASPZAPReport>&xxe;</OWASPZAPReport>'), MALFORMED);
  });

  it('accepts a DOCTYPE with only ELEMENT/ATTLIST declarations', async () => {
    const inspector = await inspect(
      bytes(
        '<?xml version="1.0"?>\n<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n',
        '<!ATTLIST issues v CDATA "">\n]>\n<issues/>',
      ),
    );
    expect(inspector.result.scanner.shortName).toBe('burp');
  });

  it('refuses an empty file', async () => {
    await expect422(bytes(), 'The uploaded file is empty.');
  });

  it('refuses random binary data', async () => {
    // Seeded bytes (deterministic) that start like neither XML nor UTF-8.
    const data = Buffer.alloc(64 * 1024);
    let x = 12345;
    for (let i = 0; i < data.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      data[i] = x >> 16;
    }
    data[0] = 0x89;
    await expect422(bytes(data), MALFORMED);
  });

  it('refuses a ZAP file followed by another root', async () => {
    const zap = readFileSync(path.join(FIXTURES, 'zap/empty_2.9.0.xml'));
    await expect422(bytes(zap, '<OWASPZAPReport></OWASPZAPReport>'), MALFORMED);
  });

  it('refuses invalid UTF-8', async () => {
    await expect422(
      bytes('<OWASPZAPReport>caf', Buffer.from([0xe9]), '</OWASPZAPReport>'),
      `${MALFORMED} (invalid UTF-8)`,
    );
  });

  it('decodes characters and a BOM split across chunks, ASCII chunks included', async () => {
    const e = Buffer.from('é'); // 2 bytes
    const inspector = await inspect(
      bytes(
        Buffer.from([0xef]),
        Buffer.from([0xbb, 0xbf]),
        '<OWASPZAPReport a="',
        e.subarray(0, 1),
        Buffer.alloc(0),
        e.subarray(1),
        '"/>',
      ),
    );
    expect(inspector.result.scanner.shortName).toBe('zap');
    // A BOM anywhere but at the start is content, and not allowed before the root.
    await expect422(bytes('\n', '\ufeff<OWASPZAPReport/>'), MALFORMED);
  });

  it('refuses an ASCII chunk that cuts a multi-byte character short', async () => {
    await expect422(
      bytes('<OWASPZAPReport a="', Buffer.from([0xc3]), '"/>'),
      `${MALFORMED} (invalid UTF-8)`,
    );
  });

  it('refuses a truncated multi-byte character at end of file', async () => {
    await expect422(
      bytes('<OWASPZAPReport/>', Buffer.from([0xc3])),
      `${MALFORMED} (invalid UTF-8)`,
    );
  });

  it('refuses an unknown document type', async () => {
    await expect422(
      bytes('<?xml version="1.0"?><html><body/></html>'),
      'Unable to determine scan type.',
    );
  });

  it('refuses an unknown second element after an ambiguous root', async () => {
    await expect422(bytes('<report><foo/></report>'), 'Unable to determine scan type.');
  });

  it('detects the old ZAP format and an empty WebInspect report', async () => {
    expect(
      (await inspect(bytes('<report>Report<alertitem/></report>'))).result.scanner.shortName,
    ).toBe('zap');
    expect((await inspect(bytes('\ufeff<Sessions/>\n'))).result.scanner.shortName).toBe(
      'webinspect',
    );
    expect((await inspect(bytes('<Sessions>\n</Sessions>'))).result.scanner.shortName).toBe(
      'webinspect',
    );
  });

  it('throws when the result is read before success', () => {
    expect(() => new ScanFileInspector().result).toThrow();
  });

  it('refuses 100k nested elements quickly', async () => {
    const started = Date.now();
    await expect422(
      bytes('<OWASPZAPReport>', '<a>'.repeat(100_000), '</a>'.repeat(100_000), '</OWASPZAPReport>'),
      'The XML nests elements too deeply.',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['XmlReport', 'IBM Security AppScan Standard', '<xml-report>'],
    ['VULNS', 'AppSpider', '<VulnSummary>'],
    ['WebAppScan', 'AppSpider', '<VulnSummary>'],
  ])(
    'refuses an AppScan/AppSpider report with the root <%s>, which no parser reads, naming the supported root',
    async (root, scanner, supported) => {
      await expect422(
        bytes(`<?xml version="1.0"?><${root}><Item/></${root}>`),
        `The uploaded file is a report of ${scanner} with the root element <${root}>, a format scanqueue cannot import; ${scanner} reports must have the root element ${supported}.`,
      );
    },
  );

  it('refuses the attribute bomb (5 million attributes on one element, ~59 MB) after reading its first chunks, in bounded memory and time', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    let chunksRead = 0;
    // Distinct names (base 36), as in the report of the finding: 5,000,000 attributes, ~59 MB.
    const block = (b: number): Buffer =>
      Buffer.from(
        Array.from({ length: 50_000 }, (_, i) => ` a${(b * 50_000 + i).toString(36)}="ok"`).join(
          '',
        ),
      );
    let bytesMade = 0;
    async function* bomb(): AsyncGenerator<Buffer> {
      yield Buffer.from('<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site');
      for (let b = 0; b < 100; b++) {
        chunksRead++;
        const chunk = block(b);
        bytesMade += chunk.length;
        yield chunk;
      }
      yield Buffer.from('/></OWASPZAPReport>');
    }
    await expect422(
      Readable.from(bomb()),
      'The XML contains an element with more than 256 attributes; refused.',
      { expectedScanner: 'zap' },
    );
    expect(chunksRead).toBeLessThanOrEqual(3);
    expect(bytesMade).toBeLessThan(2 * 1024 * 1024); // of ~58 MB
    expect(Date.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a declared encoding other than UTF-8, XInclude and xml-stylesheet', async () => {
    await expect422(
      bytes('<?xml version="1.0" encoding="UTF-7"?><OWASPZAPReport/>'),
      'The XML declares the encoding "UTF-7"; only UTF-8 is accepted.',
    );
    await expect422(
      bytes(
        '<OWASPZAPReport xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></OWASPZAPReport>',
      ),
      /XInclude/,
    );
    await expect422(
      bytes('<?xml-stylesheet href="http://x/s.xsl"?><OWASPZAPReport/>'),
      /xml-stylesheet/,
    );
  });

  it('accepts a large generated ZAP report streamed in chunks', async () => {
    const head = Buffer.from(
      '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="https://x.test"><alerts>',
    );
    const item =
      '<alertitem><pluginid>10020</pluginid><alert>X-Frame-Options Header Not Set – é</alert>' +
      '<desc>&lt;p&gt;No header&lt;/p&gt;</desc><instances><instance><uri>https://x.test/a?b=1&amp;c=2</uri>' +
      '<method>GET</method><evidence><![CDATA[<html>]]></evidence></instance></instances></alertitem>\n';
    const block = Buffer.from(item.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(item))));
    const tail = Buffer.from('</alerts></site></OWASPZAPReport>\n');
    const blocks = 50;
    async function* generate(): AsyncGenerator<Buffer> {
      yield head;
      for (let i = 0; i < blocks; i++) yield block;
      yield tail;
    }
    const inspector = await inspect(Readable.from(generate()), { expectedScanner: 'zap' });
    expect(inspector.result.sizeBytes).toBe(head.length + blocks * block.length + tail.length);
    expect(inspector.result.scanner.shortName).toBe('zap');
  });
});

/**
 * The body screen must never change a verdict: ScanXmlCheck with the screen gives, for every
 * document and every way of cutting it into chunks, the verdict and the message that saxes alone
 * gives. Checked on the real reports of test/fixtures/scans, a generated report that uses every
 * construct the screen reads, and thousands of seeded mutations of them (bytes cut, repeated and
 * inserted from a list of troublemakers), in random chunks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanXmlCheck } from '../scan-file-inspector';
import { XML_LIMITS } from './safe-xml-reader';

const FIXTURES = join(__dirname, '../../../test/fixtures/scans');

function fixtureReports(): { name: string; bytes: Buffer }[] {
  const reports: { name: string; bytes: Buffer }[] = [];
  for (const scanner of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!scanner.isDirectory()) continue;
    for (const file of readdirSync(join(FIXTURES, scanner.name))) {
      if (file.endsWith('.xml'))
        reports.push({
          name: `${scanner.name}/${file}`,
          bytes: readFileSync(join(FIXTURES, scanner.name, file)),
        });
    }
  }
  return reports;
}

/** A ZAP report with comments, CDATA, references, CRLF, tabs, non-ASCII, both quotes, an epilog. */
const GENERATED = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\r\n<OWASPZAPReport version="2.16.1" generated="now">\r\n' +
    '<site name="https://x.example" host=\'x.example\'>\n<alerts>\n' +
    Array.from(
      { length: 40 },
      (_, i) =>
        `\t<alertitem id="${i}" note='a "quoted" &amp; &#233; &#x1F600; value'>\r\n` +
        `<!-- item ${i} - with dashes - --><name>Rule ${i} ]] > ] é 😀 日本</name>\n` +
        `<desc>&lt;p&gt;x&quot;y&apos;&#10;&#x9;</desc><empty/><empty a="1" b = "2" />` +
        `<otherinfo><![CDATA[ <b>]</b> ]] > ]]]x ${'r'.repeat(i * 7)} ]]></otherinfo>\n` +
        `<uri\n  kind="x"\r\n>https://x.example/${i}?a=1&amp;b=2</uri\n>\r\n</alertitem>\n`,
    ).join('') +
    '</alerts></site></OWASPZAPReport>\n<!-- done -->\n\n',
);

/** Inserted by the mutations: each is a way to break (or not) what the screen reads. */
const TROUBLE = [
  '<',
  '>',
  '&',
  ']',
  ']]>',
  ']]',
  '-',
  '--',
  '-->',
  '<!--',
  '<![CDATA[',
  '"',
  "'",
  '=',
  '/',
  '/>',
  '</',
  '</x>',
  '<x>',
  '<?pi x?>',
  '<!DOCTYPE r>',
  '\r',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '\u0000',
  '\u0001',
  '\u007f',
  '\u0085',
  'é',
  '😀',
  '\uFFFE',
  '\uFFFD',
  '&amp;',
  '&foo;',
  '&#0;',
  '&#65;',
  '&#x41;',
  '&#X41;',
  '&#x110000;',
  '&#xD800;',
  '&#00000065;',
  '&am',
  ' a="1"',
  ' a="1" a="2"',
  ' xmlns="u"',
  ' xmlns:xi="http://www.w3.org/2001/XInclude"',
  'x="1"',
  '<é>',
  '</é>',
  ':',
  '.',
  '0',
  '\uFEFF',
].map((s) => Buffer.from(s, 'utf8'));
/** Inserted right after a start tag's name. */
const TAG_TROUBLE = [
  ' a="1" a="2"',
  ' a="1" b=\'2\' a="3"',
  ' a="1"b="2"',
  ' a = "x&lt;y"',
  ' a="x<y"',
  ' a="&#1;"',
  ' a="é\r\n\tz"',
  ' a',
  ' a=1',
  ' xmlns="u"',
  ' xmlns:xi="http://www.w3.org/2001/XInclude"',
  ' xmlnsx="1"',
  '/',
  ' /',
  '\n\r\n',
  ' é="1"',
  ' a="\u0001"',
  ' a="&amp"',
  ' a="]]>"',
].map((s) => Buffer.from(s, 'utf8'));
const RAW_BYTES = [0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function mutate(doc: Buffer, rnd: (n: number) => number): Buffer {
  // Mostly past the first elements, where the screen reads.
  const at = () => (rnd(4) === 0 ? rnd(doc.length) : 300 + rnd(Math.max(1, doc.length - 300)));
  const edits = 1 + rnd(3);
  for (let e = 0; e < edits; e++) {
    const p = Math.min(at(), doc.length);
    switch (rnd(5)) {
      case 4: {
        // Into a start tag, right after its name: where attributes and their troubles go.
        const tag = doc.indexOf('<', p);
        let end = tag + 1;
        while (end > 0 && end < doc.length && /[\w:.-]/.test(String.fromCharCode(doc[end]))) end++;
        if (tag < 0 || end === tag + 1) break;
        const insert = TAG_TROUBLE[rnd(TAG_TROUBLE.length)];
        doc = Buffer.concat([doc.subarray(0, end), insert, doc.subarray(end)]);
        break;
      }
      case 0:
        doc = Buffer.concat([
          doc.subarray(0, p),
          doc.subarray(Math.min(doc.length, p + 1 + rnd(8))),
        ]);
        break;
      case 1: {
        const q = Math.min(doc.length, p + 1 + rnd(40));
        doc = Buffer.concat([doc.subarray(0, q), doc.subarray(p, q), doc.subarray(q)]);
        break;
      }
      case 2:
        doc = Buffer.concat([
          doc.subarray(0, p),
          Buffer.from([RAW_BYTES[rnd(RAW_BYTES.length)]]),
          doc.subarray(p),
        ]);
        break;
      default:
        doc = Buffer.concat([doc.subarray(0, p), TROUBLE[rnd(TROUBLE.length)], doc.subarray(p)]);
    }
  }
  return doc;
}

/** Chunk sizes: tiny ones (every cut), mid-size, and now and then a large one. */
function chunks(doc: Buffer, rnd: (n: number) => number): Buffer[] {
  const out: Buffer[] = [];
  const style = rnd(3);
  for (let i = 0; i < doc.length;) {
    const size = style === 0 ? 1 + rnd(16) : style === 1 ? 1 + rnd(700) : 1 + rnd(70_000);
    out.push(doc.subarray(i, i + size));
    i += size;
  }
  return out;
}

function verdict(parts: Buffer[], screen: boolean): { verdict: string; screened: number } {
  const check = new ScanXmlCheck({ screen });
  try {
    for (const part of parts) check.write(part);
    return { verdict: `ok: ${check.end().shortName}`, screened: check.screenedBytes };
  } catch (err) {
    return { verdict: (err as Error).message, screened: check.screenedBytes };
  }
}

const INVALID_UTF8 = /invalid UTF-8/;

/**
 * Equal verdicts. One exception, which the chunking already causes without the screen: the reader
 * decodes a whole slice before saxes reads it, so with invalid UTF-8 after another error, which of
 * the two is reported depends on where the slices fall.
 */
function expectSameVerdict(parts: Buffer[], label: string): number {
  const withScreen = verdict(parts, true);
  const saxesAlone = verdict(parts, false);
  if (
    withScreen.verdict !== saxesAlone.verdict &&
    !withScreen.verdict.startsWith('ok') &&
    !saxesAlone.verdict.startsWith('ok') &&
    (INVALID_UTF8.test(withScreen.verdict) || INVALID_UTF8.test(saxesAlone.verdict))
  )
    return withScreen.screened;
  expect({ label, verdict: withScreen.verdict }).toEqual({ label, verdict: saxesAlone.verdict });
  return withScreen.screened;
}

describe('XmlBodyScreen (in ScanXmlCheck)', () => {
  const reports = [...fixtureReports(), { name: 'generated', bytes: GENERATED }];

  it('reads most of every well-formed report, with the verdict saxes alone gives', () => {
    for (const { name, bytes } of reports) {
      const parts = chunks(bytes, random(7));
      const screened = expectSameVerdict(parts, name);
      expect(verdict(parts, true).verdict).toMatch(/^ok: /);
      // Every report but the smallest is mostly read by the screen.
      if (bytes.length > 10_000)
        expect({ name, share: screened / bytes.length > 0.5 }).toEqual({ name, share: true });
    }
  });

  it("gives saxes' verdict and message on thousands of mutated reports, in random chunks", () => {
    let refused = 0;
    let screened = 0;
    const small = reports.filter((r) => r.bytes.length < 150_000);
    for (let seed = 1; seed <= 4000; seed++) {
      const rnd = random(seed);
      const base = small[rnd(small.length)];
      const doc = mutate(Buffer.from(base.bytes), rnd);
      const parts = chunks(doc, rnd);
      screened += expectSameVerdict(parts, `seed ${seed} (${base.name})`) > 0 ? 1 : 0;
      if (!verdict(parts, false).verdict.startsWith('ok')) refused++;
    }
    // The mutations must break most documents, and the screen must have been in play.
    expect(refused).toBeGreaterThan(2000);
    expect(screened).toBeGreaterThan(2000);
  });

  it("reports an error deep in the body at saxes' line and column", () => {
    const doc = Buffer.from(
      `<?xml version="1.0"?>\n<OWASPZAPReport>\n${'<site name="a">é\r\n</site>\n'.repeat(500)}<site>ab\u0001</site></OWASPZAPReport>`,
    );
    const parts = Array.from({ length: Math.ceil(doc.length / 100) }, (_, i) =>
      doc.subarray(i * 100, i * 100 + 100),
    );
    const withScreen = verdict(parts, true);
    expect(withScreen.screened).toBeGreaterThan(doc.length / 2);
    expect(withScreen.verdict).toContain('line 1003, column 9: disallowed character.');
    expect(withScreen.verdict).toBe(verdict(parts, false).verdict);
  });

  it('reads tags longer than what it joins to a carried token, and those past the carry limit', () => {
    // Values of 0.5 to 100 KiB, cut by 64 KiB chunks: the carried token is finished from the
    // next chunk in growing steps, or handed to saxes when longer than 64 KiB.
    const item = (length: number, i: number) =>
      `<alertitem n="${i}" v="${'v'.repeat(length)}&amp;é"\r\n w='${'w'.repeat(length >> 1)}'>x</alertitem>\r\n`;
    const body = [500, 1500, 5000, 20_000, 40_000, 100_000]
      .flatMap((length, i) => [item(length, i), item(length, i + 6), '\r'.repeat(i + 1)])
      .join('');
    const doc = `<?xml version="1.0"?>\n<OWASPZAPReport><site name="a"><alerts>\n${'<alertitem/>\n'.repeat(20_000)}${body}</alerts></site></OWASPZAPReport>\n`;
    for (const tail of ['', '<', '\u0001', '</x>']) {
      const bytes = Buffer.from(doc.replace('</alerts>', `${tail}</alerts>`));
      for (const size of [65_536, 4093, 777]) {
        const parts = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
          bytes.subarray(i * size, (i + 1) * size),
        );
        const withScreen = verdict(parts, true);
        // Up to the items past the carry limit (n="5"), the screen reads most of it.
        expect(withScreen.screened).toBeGreaterThan(bytes.indexOf(' n="5"') / 2);
        expect(withScreen.verdict).toBe(verdict(parts, false).verdict);
        if (tail === '') expect(withScreen.verdict).toBe('ok: zap');
      }
    }
  });

  it('counts a CRLF cut between a finished carried token and the rest of the chunk as one line end', () => {
    // The token cut by the first chunk is finished from the first bytes of the next; wherever
    // that read ends, a CR there and the LF after it stay one line end.
    const first = `<OWASPZAPReport><site name="a">${' '.repeat(70_000)}<alertitem`;
    for (let pad = 0; pad < 1100; pad++) {
      const second = ` n="1">${'x'.repeat(pad)}\r\n\r\n<b>\u0001</b></alertitem></site></OWASPZAPReport>`;
      const parts = [Buffer.from(first), Buffer.from(second)];
      const withScreen = verdict(parts, true);
      expect(withScreen.screened).toBeGreaterThan(0);
      expect(withScreen.verdict).toContain('line 3, column 4: disallowed character.');
      expect(withScreen.verdict).toBe(verdict(parts, false).verdict);
    }
  });

  it('leaves the end tag of a non-ASCII name that saxes opened to saxes (its column counts characters)', () => {
    for (const name of ['é', 'x😀', '日本']) {
      const doc = Buffer.from(
        `<?xml version="1.0"?>\n<OWASPZAPReport><site name="a"><${name}>${' '.repeat(70_000)}</${name}>\u0001</site></OWASPZAPReport>`,
      );
      for (const parts of [[doc], chunks(doc, random(3))]) {
        const withScreen = verdict(parts, true);
        expect(withScreen.screened).toBeGreaterThan(0);
        expect(withScreen.verdict).toContain('disallowed character');
        expect(withScreen.verdict).toBe(verdict(parts, false).verdict);
      }
    }
  });

  it('leaves the limits to the reader: depth, attributes per element, names', () => {
    const head = '<OWASPZAPReport><site>' + ' '.repeat(70_000);
    const cases = [
      `${head}${'<a>'.repeat(XML_LIMITS.maxDepth)}`,
      `${head}<a ${Array.from({ length: XML_LIMITS.maxAttributesPerElement + 1 }, (_, i) => `a${i}="1"`).join(' ')}/>`,
      `${head}<${'n'.repeat(XML_LIMITS.maxNameChars + 1)}/>`,
      `${head}<a b="${'v'.repeat(XML_LIMITS.maxTokenChars + 1)}"/>`,
    ];
    for (const doc of cases) {
      const parts = chunks(Buffer.from(doc), random(5));
      const withScreen = verdict(parts, true);
      expect(withScreen.screened).toBeGreaterThan(0);
      expect(withScreen.verdict).toMatch(/refused|too deeply/);
      expect(withScreen.verdict).toBe(verdict(parts, false).verdict);
    }
  });
});

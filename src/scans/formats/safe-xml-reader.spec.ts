import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  SafeXmlReader,
  XML_LIMITS,
  XML_REFUSALS,
  XmlRefused,
  type ElementPath,
  type XmlHandlers,
} from './safe-xml-reader';

const { maxTokenChars, maxNameChars, maxDepth, maxAttributesPerElement } = XML_LIMITS;

interface Element {
  name: string;
  path: string;
  attributes: Record<string, string>;
  text: string | null;
}

/** Reads `parts` (each one write); the elements closed, with the text of those `capture` names. */
function read(parts: Array<string | Buffer>, capture?: { name: string; limit: number }): Element[] {
  const elements: Element[] = [];
  const opened: Array<Record<string, string>> = [];
  let reader: SafeXmlReader | undefined = undefined;
  const handlers: XmlHandlers = {
    open(name, _path, attributes) {
      opened.push(attributes);
      if (name === capture?.name) reader?.capture(capture.limit);
    },
    close(name, path: ElementPath, text) {
      elements.push({ name, path: path.join('/'), attributes: opened.pop() ?? {}, text });
    },
  };
  reader = new SafeXmlReader(handlers);
  for (const part of parts) reader.write(typeof part === 'string' ? Buffer.from(part) : part);
  reader.end();
  return elements;
}

function refusal(parts: Array<string | Buffer>): string {
  try {
    read(parts);
  } catch (err) {
    if (err instanceof XmlRefused) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

/** Feeds `generate()`'s chunks until the reader refuses; how far it got, and what it said. */
function refusalWhileStreaming(generate: () => Iterable<string>): {
  message: string;
  bytesWritten: number;
  ms: number;
} {
  const reader = new SafeXmlReader({});
  const started = Date.now();
  let bytesWritten = 0;
  try {
    for (const chunk of generate()) {
      const bytes = Buffer.from(chunk);
      reader.write(bytes);
      bytesWritten += bytes.length;
    }
    reader.end();
  } catch (err) {
    if (!(err instanceof XmlRefused)) throw err;
    return { message: err.message, bytesWritten, ms: Date.now() - started };
  }
  throw new Error('accepted');
}

/** Live heap, not garbage awaiting collection: measured right after a full GC. */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const attributes = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, i) => ` a${from + i}=""`).join('');

describe('SafeXmlReader: what it reads', () => {
  it('reports elements with their path and attributes, and captured text cut at its limit', () => {
    const elements = read(
      ['<?xml version="1.0" encoding="UTF-8"?>\n<r v="1"><a>  hello ', '<b>wor', 'ld</b> </a></r>'],
      { name: 'a', limit: 8 },
    );
    expect(elements).toEqual([
      { name: 'b', path: 'r/a/b', attributes: {}, text: null }, // inside a's capture
      { name: 'a', path: 'r/a', attributes: {}, text: 'hello wo' },
      { name: 'r', path: 'r', attributes: { v: '1' }, text: null },
    ]);
  });

  it('decodes entities, CDATA and multi-byte characters split across writes; a leading BOM is dropped', () => {
    const e = Buffer.from('é');
    const [root] = read(
      [
        Buffer.from([0xef, 0xbb]),
        Buffer.from([0xbf]),
        '<r>a &am',
        'p; <![CDATA[<b>',
        e.subarray(0, 1),
        e.subarray(1),
        ']]></r>',
      ],
      { name: 'r', limit: 100 },
    );
    expect(root.text).toBe('a & <b>é');
  });

  it('accepts no declaration, UTF-8 in any case, and US-ASCII (a subset of UTF-8)', () => {
    for (const declaration of [
      '',
      '<?xml version="1.0"?>',
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
      '<?xml version="1.0" encoding="US-ASCII"?>',
    ])
      expect(read([`${declaration}<r/>`])).toHaveLength(1);
  });

  it("accepts Burp's internal DTD (element and attribute declarations only) and ordinary PIs", () => {
    const burp =
      '<?xml version="1.0"?>\n<!DOCTYPE issues [\n<!ELEMENT issues (issue*)>\n<!ATTLIST issues burpVersion CDATA "">\n]>\n' +
      '<?some-tool hint?><issues burpVersion="2.0"/>';
    expect(read([burp])).toHaveLength(1);
  });

  it('streams text and CDATA of any length: a 24 MB CDATA section and text node hold no memory', () => {
    const piece = 'x'.repeat(1024 * 1024);
    const reader = new SafeXmlReader({});
    reader.write(Buffer.from('<r><a><![CDATA['));
    const before = liveHeap();
    let peak = before;
    for (let i = 0; i < 24; i++) {
      reader.write(Buffer.from(piece));
      if (i % 8 === 7) peak = Math.max(peak, liveHeap());
    }
    reader.write(Buffer.from(']]></a><b>'));
    for (let i = 0; i < 24; i++) reader.write(Buffer.from(piece));
    peak = Math.max(peak, liveHeap());
    reader.write(Buffer.from('</b></r>'));
    reader.end();
    expect(peak - before).toBeLessThan(4 * 1024 * 1024);
  });

  it('passes errors thrown by a handler through unchanged', () => {
    class Stop extends Error {}
    const reader = new SafeXmlReader({
      open() {
        throw new Stop('mine');
      },
    });
    expect(() => reader.write(Buffer.from('<r/>'))).toThrow(Stop);
  });

  it("keeps saxes' parser in fast mode (an eighth handler would make it a dictionary, ~3x slower)", () => {
    setFlagsFromString('--allow-natives-syntax');
    const hasFastProperties = runInNewContext('(o) => %HasFastProperties(o)') as (
      o: unknown,
    ) => boolean;
    const reader = new SafeXmlReader({});
    reader.write(Buffer.from('<r><a>'));
    reader.capture(10); // sets saxes' text handler too
    const parser = (reader as unknown as { parser: object }).parser;
    expect(hasFastProperties(parser)).toBe(true);
  });
});

describe('SafeXmlReader: refusals', () => {
  it('not well-formed, with line and column', () => {
    expect(refusal(['<r>\n<a></r>'])).toMatch(
      /^The XML was not well-formed and could not be parsed\. \(line 2, column \d+: unexpected close tag\.\)$/,
    );
    expect(refusal(['<r>&xxe;</r>'])).toMatch(/undefined entity/);
    expect(refusal(['<r>'])).toMatch(/^The XML was not well-formed/);
    expect(refusal(['<r/><r/>'])).toMatch(/^The XML was not well-formed/);
  });

  it('invalid UTF-8, also a character cut at the end; an empty file', () => {
    expect(refusal(['<r>', Buffer.from([0xe9]), '</r>'])).toBe(XML_REFUSALS.invalidUtf8);
    expect(refusal(['<r/>', Buffer.from([0xc3])])).toBe(XML_REFUSALS.invalidUtf8);
    expect(refusal([])).toBe('The uploaded file is empty.');
  });

  it('a declared encoding other than UTF-8 (UTF-7 and UTF-16 would let a consumer see other XML)', () => {
    for (const encoding of ['UTF-7', 'UTF-16', 'ISO-8859-1', 'windows-1252', 'EBCDIC-US'])
      expect(refusal([`<?xml version="1.0" encoding="${encoding}"?><r/>`])).toBe(
        `The XML declares the encoding "${encoding}"; only UTF-8 is accepted.`,
      );
  });

  it('a DOCTYPE with an entity declaration, a parameter entity or an external id', () => {
    for (const doctype of [
      '<!DOCTYPE r [<!ENTITY x "y">]>',
      '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://x/p.dtd"> %p;]>',
      '<!DOCTYPE r SYSTEM "file:///etc/passwd">',
      '<!DOCTYPE r PUBLIC "-//X//DTD X//EN" "http://x/x.dtd">',
    ])
      expect(refusal([`${doctype}<r/>`])).toBe(XML_REFUSALS.unsafeDoctype);
  });

  it('XInclude, by either of its namespaces, with a prefix or as the default namespace', () => {
    for (const declaration of [
      'xmlns:xi="http://www.w3.org/2001/XInclude"',
      'xmlns="http://www.w3.org/2001/XInclude"',
      'xmlns:x="http://www.w3.org/2003/XInclude"',
    ])
      expect(
        refusal([`<r><a ${declaration}><xi:include href="file:///etc/passwd"/></a></r>`]),
      ).toBe(XML_REFUSALS.xinclude);
  });

  it('an xml-stylesheet processing instruction, before the root or inside it', () => {
    expect(refusal(['<?xml-stylesheet type="text/xsl" href="http://x/s.xsl"?><r/>'])).toBe(
      XML_REFUSALS.stylesheet,
    );
    expect(refusal(['<r><?xml-stylesheet href="s.xsl"?></r>'])).toBe(XML_REFUSALS.stylesheet);
  });
});

describe('SafeXmlReader: limits', () => {
  it(`depth: ${maxDepth} nested elements pass, one more is refused`, () => {
    const nest = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(read([nest(maxDepth)])).toHaveLength(maxDepth);
    expect(refusal([nest(maxDepth + 1)])).toBe(XML_REFUSALS.tooDeep);
  });

  it(`attributes per element: ${maxAttributesPerElement} pass, one more is refused`, () => {
    expect(read([`<r${attributes(maxAttributesPerElement)}/>`])).toHaveLength(1);
    expect(refusal([`<r${attributes(maxAttributesPerElement + 1)}/>`])).toBe(
      XML_REFUSALS.tooManyAttributesOnElement,
    );
  });

  it(`attributes per document: ${XML_LIMITS.maxAttributesPerDocument} pass, one more is refused`, () => {
    const perElement = maxAttributesPerElement;
    const elements = XML_LIMITS.maxAttributesPerDocument / perElement;
    const element = `<e${attributes(perElement)}/>`;
    function* document(extra: number): Iterable<string> {
      yield '<r>';
      for (let i = 0; i < elements; i += 100) yield element.repeat(Math.min(100, elements - i));
      if (extra > 0) yield `<e${attributes(extra)}/>`;
      yield '</r>';
    }
    const reader = new SafeXmlReader({});
    for (const chunk of document(0)) reader.write(Buffer.from(chunk));
    reader.end();
    expect(refusalWhileStreaming(() => document(1)).message).toBe(XML_REFUSALS.tooManyAttributes);
  }, 60_000);

  it(`token: an attribute value of ${maxTokenChars} characters passes, one more is refused`, () => {
    const value = (n: number) => `<r a="${'v'.repeat(n - 1)}"/>`; // name "a" counts
    expect(read([value(maxTokenChars)])).toHaveLength(1);
    expect(refusal([value(maxTokenChars + 1)])).toBe(XML_REFUSALS.tokenTooLarge);
  });

  it("token: one start tag's attributes count together", () => {
    const half = 'v'.repeat(maxTokenChars / 2);
    expect(refusal([`<r a="${half}" b="${half}"/>`])).toBe(XML_REFUSALS.tokenTooLarge);
  });

  it('token: a processing instruction or DOCTYPE over the limit', () => {
    expect(refusal([`<?pi ${'x'.repeat(maxTokenChars + 1)}?><r/>`])).toBe(
      XML_REFUSALS.tokenTooLarge,
    );
    expect(refusal([`<!DOCTYPE r [${'<!-- x -->'.repeat(maxTokenChars / 9)}]><r/>`])).toBe(
      XML_REFUSALS.tokenTooLarge,
    );
  });

  it('token: a 64 MB attribute value is refused once it passes the limit, not at its end', () => {
    const before = liveHeap();
    const result = refusalWhileStreaming(function* () {
      yield '<r a="';
      for (let i = 0; i < 64; i++) yield 'v'.repeat(1024 * 1024);
      yield '"/>';
    });
    expect(result.message).toBe(XML_REFUSALS.tokenTooLarge);
    expect(result.bytesWritten).toBeLessThan(maxTokenChars + 2 * 1024 * 1024);
    expect(liveHeap() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it(`names: ${maxNameChars} characters pass, one more is refused; a 2 MB name is refused as it streams`, () => {
    const name = (n: number) => 'n'.repeat(n);
    expect(read([`<${name(maxNameChars)}/>`])).toHaveLength(1);
    expect(refusal([`<${name(maxNameChars + 1)}/>`])).toBe(XML_REFUSALS.nameTooLong);
    expect(refusal([`<r ${name(maxNameChars + 1)}=""/>`])).toBe(XML_REFUSALS.nameTooLong);
    expect(refusal([`<?${name(maxNameChars + 1)} x?><r/>`])).toBe(XML_REFUSALS.nameTooLong);
    const streamed = refusalWhileStreaming(function* () {
      yield '<r>&';
      for (let i = 0; i < 2; i++) yield name(1024 * 1024);
      yield ';</r>';
    });
    expect(streamed.message).toBe(XML_REFUSALS.nameTooLong);
    expect(streamed.bytesWritten).toBeLessThanOrEqual(1024 * 1024 + 4);
  });

  it('the attribute bomb (5 million attributes on one element, ~59 MB) is refused within its first kilobytes', () => {
    const before = liveHeap();
    const result = refusalWhileStreaming(function* () {
      yield '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site';
      // Distinct names (base 36), as in the report of the finding: 5,000,000 attributes, ~58 MB.
      for (let b = 0; b < 100; b++)
        yield Array.from(
          { length: 50_000 },
          (_, i) => ` a${(b * 50_000 + i).toString(36)}="ok"`,
        ).join('');
      yield '/></OWASPZAPReport>';
    });
    expect(result.message).toBe(XML_REFUSALS.tooManyAttributesOnElement);
    expect(result.bytesWritten).toBeLessThan(100);
    expect(result.ms).toBeLessThan(1000);
    expect(liveHeap() - before).toBeLessThan(4 * 1024 * 1024);
  });
});

/** The parsers' refusals (hostile or broken XML) and their streaming bounds (memory, event loop). */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { alertXml, generatedZap, zapReport } from '../../../../test/support/generated-zap';
import {
  MAX_EVIDENCE_CHARS,
  parseScanReport,
  ScanReportParseError,
  type NormalizedFinding,
} from '../index';
import { MAX_PENDING_INSTANCES } from './zap.parser';

const fixture = (file: string): string => join(__dirname, '../../../../test/fixtures/scans', file);

async function parseText(scanner: string, xml: string): Promise<NormalizedFinding[]> {
  const findings: NormalizedFinding[] = [];
  await parseScanReport(scanner, Readable.from([Buffer.from(xml)]), (f) => void findings.push(f));
  return findings;
}

describe('scan report parsers: refusals', () => {
  const refused = (scanner: string, xml: string | Buffer): Promise<unknown> =>
    parseScanReport(scanner, Readable.from([Buffer.from(xml)]), () => undefined);

  it('an unknown scanner is an error, not a parse error', async () => {
    const err = await refused('nessus', '<x/>').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ScanReportParseError);
    expect((err as Error).message).toMatch(/nessus/);
  });

  it('a DOCTYPE declaring an entity is refused, the entity never expanded', async () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "${'x'.repeat(10)}">]><OWASPZAPReport>&a;</OWASPZAPReport>`;
    await expect(refused('zap', xml)).rejects.toThrow(ScanReportParseError);
    await expect(refused('zap', xml)).rejects.toThrow(
      /^ZAP report: The XML contains a DOCTYPE with entity/,
    );
    const system = `<!DOCTYPE issues SYSTEM "file:///etc/passwd"><issues/>`;
    await expect(refused('burp', system)).rejects.toThrow(
      /^Burp report: The XML contains a DOCTYPE/,
    );
  });

  it('an undeclared entity reference is not well-formed', async () => {
    await expect(refused('zap', '<OWASPZAPReport>&xxe;</OWASPZAPReport>')).rejects.toThrow(
      /^ZAP report: The XML was not well-formed and could not be parsed\. \(line 1, column \d+: /,
    );
  });

  it('a truncated report is refused, after the findings before the cut', async () => {
    const whole = readFileSync(fixture('zap/dvwa_baseline_dojo.xml'));
    const seen: NormalizedFinding[] = [];
    const err = await parseScanReport(
      'zap',
      Readable.from([whole.subarray(0, whole.length / 2)]),
      (f) => {
        seen.push(f);
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanReportParseError);
    expect((err as Error).message).toMatch(
      /^ZAP report: The XML was not well-formed and could not be parsed\. \(line \d+/,
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(124);
  });

  it("another scanner's report (wrong root) is refused", async () => {
    const burp = readFileSync(fixture('burp/one_finding.xml'));
    await expect(refused('zap', burp)).rejects.toThrow(
      'ZAP report: root element <issues> is not <OWASPZAPReport> or <report>',
    );
    const zap = readFileSync(fixture('zap/5_zap_sample_one.xml'));
    await expect(refused('appscan', zap)).rejects.toThrow(ScanReportParseError);
    await expect(refused('webinspect', zap)).rejects.toThrow(ScanReportParseError);
  });

  it('an empty file and invalid UTF-8 are refused', async () => {
    await expect(refused('spider', '')).rejects.toThrow(
      'AppSpider report: The uploaded file is empty.',
    );
    const bad = Buffer.concat([
      Buffer.from('<VulnSummary>'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('</VulnSummary>'),
    ]);
    await expect(refused('spider', bad)).rejects.toThrow(
      'AppSpider report: The XML was not well-formed and could not be parsed. (invalid UTF-8)',
    );
  });

  it('a sink failure rejects the parse with it', async () => {
    const boom = new Error('sink down');
    await expect(
      parseScanReport('zap', createReadStream(fixture('zap/5_zap_sample_one.xml')), () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});

/** Live heap, not garbage awaiting collection: measured right after a full GC. */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('scan report parsers: streaming', () => {
  it('evidence is cut at MAX_EVIDENCE_CHARS while streaming; a 16 MB text is never held', async () => {
    const heap: number[] = [];
    const sample = (): void => {
      liveHeap(); // discard the first reading's garbage
      heap.push(liveHeap());
    };
    async function* report(): AsyncGenerator<Buffer> {
      yield Buffer.from(
        '<OWASPZAPReport><site><alerts><alertitem><pluginid>1</pluginid><riskcode>3</riskcode>' +
          '<instances><instance><uri>https://h/x</uri><evidence>   <![CDATA[',
      );
      const piece = Buffer.from('e'.repeat(64 * 1024));
      for (let i = 0; i < 256; i++) {
        if (i === 16 || i === 255) sample();
        yield piece;
      }
      yield Buffer.from(']]>tail</evidence><responsebody>');
      for (let i = 0; i < 256; i++) {
        if (i === 255) sample();
        yield piece; // plain text in an element nobody captures
      }
      yield Buffer.from(
        '</responsebody></instance></instances></alertitem></alerts></site></OWASPZAPReport>',
      );
    }
    const findings: NormalizedFinding[] = [];
    await parseScanReport('zap', Readable.from(report()), (f) => {
      findings.push(f);
    });
    expect(findings).toHaveLength(1);
    expect(findings[0].evidence).toBe('e'.repeat(MAX_EVIDENCE_CHARS));
    expect(findings[0].severity).toBe('high');
    // 15 MB more of CDATA, then 16 MB of text, went past between the samples: none of it is kept.
    expect(heap[1] - heap[0]).toBeLessThan(4 * 1024 * 1024);
    expect(heap[2] - heap[0]).toBeLessThan(4 * 1024 * 1024);
  });

  it('entities in a long captured text are decoded and cut; a 2 MB name is refused', async () => {
    // ~3 MB of "a&amp;" pieces: some slice boundaries fall inside an entity reference.
    const body = 'a&amp;'.repeat(500_000);
    const [f] = await parseText(
      'zap',
      zapReport([
        `<alertitem><pluginid>1</pluginid><instances><instance><uri>https://h/</uri><evidence>${body}</evidence></instance></instances></alertitem>`,
      ]),
    );
    expect(f.evidence).toBe('a&'.repeat(MAX_EVIDENCE_CHARS / 2));
    const longName = `<OWASPZAPReport><${'n'.repeat(2 * 1024 * 1024)}/></OWASPZAPReport>`;
    await expect(parseText('zap', longName)).rejects.toThrow(
      'ZAP report: The XML contains an element, attribute or entity name longer than 4096 characters; refused.',
    );
  });

  it('element names like constructor or __proto__ neither lift the limits nor pollute', async () => {
    const big = 'x'.repeat(100_000);
    const [f] = await parseText(
      'zap',
      zapReport([
        `<alertitem><pluginid>1</pluginid><riskcode>constructor</riskcode><constructor>${big}</constructor>` +
          `<__proto__>${big}</__proto__><instances><instance><uri>https://h/</uri><toString>${big}</toString>` +
          `<evidence>${big}</evidence></instance></instances></alertitem>`,
      ]),
    );
    expect(f.severity).toBe('info');
    expect(f.evidence).toHaveLength(MAX_EVIDENCE_CHARS);
    expect(JSON.stringify(f).length).toBeLessThan(MAX_EVIDENCE_CHARS + 1000);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('an alert with more instances than MAX_PENDING_INSTANCES reports them all', async () => {
    const n = MAX_PENDING_INSTANCES + 5;
    let instances = '';
    for (let i = 0; i < n; i++) instances += `<instance><uri>https://h/p${i}</uri></instance>`;
    const findings = await parseText(
      'zap',
      zapReport([
        `<alertitem><pluginid>7</pluginid><instances>${instances}</instances><cweid>89</cweid></alertitem>`,
      ]),
    );
    expect(findings).toHaveLength(n);
    expect(new Set(findings.map((f) => f.path)).size).toBe(n);
    // Past the cap they could not wait for <cweid>: documented as cwe null.
    expect(findings.filter((f) => f.cwe === null)).toHaveLength(n);
    const small = await parseText('zap', zapReport([alertXml(1, 'https://h/a')]));
    expect(small[0].cwe).toBe(79);
  });

  it('applies backpressure: the input is not read ahead while the sink is busy', async () => {
    let chunksRead = 0;
    const lag: number[] = [];
    let seen = 0;
    await parseScanReport(
      'zap',
      Readable.from(
        generatedZap(200, 1, 0, () => chunksRead++),
        { highWaterMark: 1 },
      ),
      async () => {
        seen++;
        lag.push(chunksRead - seen);
        await nextTick();
      },
    );
    expect(seen).toBe(200);
    // One chunk per alert: the stream's one-chunk buffer and the chunk being parsed, no more.
    expect(Math.max(...lag)).toBeLessThanOrEqual(2);
  });

  it('a ~50 MB report through a slow sink keeps heap growth under 64 MB', async () => {
    const count = 20_000;
    const padding = 2_400; // ~2.6 kB per alert: ~52 MB in all
    let bytesMade = 0;
    const before = liveHeap();
    let peak = before;
    let findings = 0;
    const input = Readable.from(
      (async function* () {
        for await (const chunk of generatedZap(count, 20, padding)) {
          bytesMade += chunk.length;
          yield chunk;
        }
      })(),
    );
    const summary = await parseScanReport('zap', input, async (f) => {
      findings++;
      if (findings % 100 === 0) await nextTick(); // a slow consumer, like a database insert
      if (findings % 2000 === 0) {
        peak = Math.max(peak, liveHeap());
      }
      if (f.evidence !== `ev ${findings - 1}`) throw new Error(`out of order at ${findings}`);
    });
    expect(bytesMade).toBeGreaterThan(50_000_000);
    expect(summary).toEqual({ findings: count, bytes: bytesMade });
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    // Flat, not merely under the bar: a parser that kept the findings would hold far more than 8 MB.
    expect(peak - before).toBeLessThan(8 * 1024 * 1024);
  }, 30_000);
});

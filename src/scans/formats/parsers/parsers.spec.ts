import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  MAX_EVIDENCE_CHARS,
  parseScanReport,
  ScanReportParseError,
  type NormalizedFinding,
} from '../index';
import { buildFinding, normalizeUrl } from './build-finding';
import { burpParameter } from './burp.parser';
import { findingFingerprint, urlPath } from './fingerprint';
import { MAX_PENDING_INSTANCES } from './zap.parser';

const FIXTURES = join(__dirname, '../../../../test/fixtures/scans');
const fixture = (file: string): string => join(FIXTURES, file);

async function parseFile(scanner: string, file: string): Promise<NormalizedFinding[]> {
  const findings: NormalizedFinding[] = [];
  const summary = await parseScanReport(scanner, createReadStream(fixture(file)), (f) => {
    findings.push(f);
  });
  expect(summary.findings).toBe(findings.length);
  return findings;
}

async function parseText(scanner: string, xml: string): Promise<NormalizedFinding[]> {
  const findings: NormalizedFinding[] = [];
  await parseScanReport(scanner, Readable.from([Buffer.from(xml)]), (f) => {
    findings.push(f);
  });
  return findings;
}

const fp = (scanner: string, ruleId: string, path: string | null, param: string | null): string =>
  findingFingerprint(scanner, ruleId, path, null, param);

describe('scan report parsers: fixtures', () => {
  // Counts taken from the XML: ZAP = instances (or 1 per alert without), the rest = issue elements.
  it.each([
    ['zap', 'zap/5_zap_sample_one.xml', 6],
    ['zap', 'zap/dvwa_baseline_dojo.xml', 124],
    ['zap', 'zap/empty_2.9.0.xml', 0],
    ['zap', 'zap/zap_2.16.1_with_req_resp.xml', 13],
    ['burp', 'burp/one_finding.xml', 3],
    ['burp', 'burp/seven_findings.xml', 16],
    ['acunetix', 'acunetix/one_finding.xml', 1],
    ['acunetix', 'acunetix/many_findings.xml', 4],
    ['appscan', 'appscan/testfire.xml', 115],
    ['webinspect', 'webinspect/one_vuln.xml', 1],
    ['spider', 'appspider/one_vuln.xml', 1],
  ])('%s %s gives %i findings, each well-formed', async (scanner, file, count) => {
    const findings = await parseFile(scanner, file);
    expect(findings).toHaveLength(count);
    for (const f of findings) {
      expect(f.scanner).toBe(scanner);
      expect(f.ruleId).not.toBe('');
      expect(f.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(['critical', 'high', 'medium', 'low', 'info']).toContain(f.severity);
    }
  });

  it('ZAP 2.9: one finding per instance, with the alert fields', async () => {
    const findings = await parseFile('zap', 'zap/5_zap_sample_one.xml');
    expect(findings[0]).toEqual({
      scanner: 'zap',
      ruleId: '10011',
      name: 'Cookie Without Secure Flag',
      severity: 'low',
      cwe: 614,
      url: 'https://mainsite.com/dashboard',
      path: '/dashboard',
      parameter: 'opvc',
      evidence: 'Set-Cookie: opvc',
      fingerprint: fp('zap', '10011', '/dashboard', 'opvc'),
    });
    expect(findings[2]).toMatchObject({ url: 'https://mainsite.com', path: '/' });
  });

  it('ZAP dvwa: query dropped from the path, no param gives null, cwe after instances', async () => {
    const findings = await parseFile('zap', 'zap/dvwa_baseline_dojo.xml');
    const ip = findings.find(
      (f) => f.url === 'http://172.17.0.2/vulnerabilities/fi/?page=file3.php' && f.ruleId === '2',
    );
    expect(ip).toEqual({
      scanner: 'zap',
      ruleId: '2',
      name: 'Private IP Disclosure',
      severity: 'low',
      cwe: 200,
      url: 'http://172.17.0.2/vulnerabilities/fi/?page=file3.php',
      path: '/vulnerabilities/fi/',
      parameter: null,
      evidence: '172.17.0.3',
      fingerprint: fp('zap', '2', '/vulnerabilities/fi/', null),
    });
    expect(findings.filter((f) => f.ruleId === '10020')).toHaveLength(11);
    expect(findings[0]).toMatchObject({ severity: 'medium', cwe: 16, evidence: null });
  });

  it('ZAP 2.16: cweid -1 is no CWE; riskcode 0 is info', async () => {
    const [first] = await parseFile('zap', 'zap/zap_2.16.1_with_req_resp.xml');
    expect(first).toMatchObject({
      ruleId: '10111',
      name: 'Authentication Request Identified',
      severity: 'info',
      cwe: null,
      url: 'https://example-domain.com/cpapi/api/account/verifypasswordless',
      path: '/cpapi/api/account/verifypasswordless',
      parameter: 'user_identifier',
      evidence: 'passwordless_code',
    });
  });

  it('Burp: url from host + path, parameter from the location, issueDetail as evidence', async () => {
    const [first] = await parseFile('burp', 'burp/one_finding.xml');
    expect(first).toMatchObject({
      ruleId: '1049088',
      name: 'SQL injection',
      severity: 'high',
      cwe: null,
      url: 'http://bwa/bodgeit/basket.jsp',
      path: '/bodgeit/basket.jsp',
      parameter: 'b_id',
      fingerprint: fp('burp', '1049088', '/bodgeit/basket.jsp', 'b_id'),
    });
    expect(first.evidence).toMatch(/^The <b>b_id<\/b> cookie appears to be vulnerable/);
    const seven = await parseFile('burp', 'burp/seven_findings.xml');
    expect(seven[0]).toMatchObject({
      ruleId: '5245344',
      severity: 'info',
      path: '/bodgeit/',
      parameter: null,
    });
    const password = seven.filter((f) => f.parameter === 'password');
    expect(password).toHaveLength(1);
    expect(password[0]).toMatchObject({ ruleId: '1049088', path: '/bodgeit/login.jsp' });
  });

  it('Acunetix: item without attributes; CWE from the id; scheme-less StartURL is http', async () => {
    const [one] = await parseFile('acunetix', 'acunetix/one_finding.xml');
    expect(one).toEqual({
      scanner: 'acunetix',
      ruleId: 'VijayReportItem1',
      name: 'VijayReportItem1',
      severity: 'medium',
      cwe: 352,
      url: 'https://vijaytest.com/some/path',
      path: '/some/path',
      parameter: null,
      evidence: 'Vijay Test',
      fingerprint: fp('acunetix', 'VijayReportItem1', '/some/path', null),
    });
    const many = await parseFile('acunetix', 'acunetix/many_findings.xml');
    expect(many.map((f) => [f.name, f.severity, f.cwe])).toEqual([
      ['Slow HTTP Denial of Service Attack', 'medium', null],
      ['Possible virtual host found', 'low', 200],
      ['Unencrypted connection (verified)', 'low', 310],
      ['Content Security Policy (CSP) not implemented', 'info', 16],
    ]);
    expect(many[0].url).toBe('http://www.itsecgames.com/');
  });

  it('AppScan: references to issue types, URLs and entities resolved', async () => {
    const findings = await parseFile('appscan', 'appscan/testfire.xml');
    expect(findings[0]).toEqual({
      scanner: 'appscan',
      ruleId: 'OldTLS',
      name: 'Older TLS Version is Supported',
      severity: 'low',
      cwe: 327,
      url: 'https://demo.testfire.net/',
      path: '/',
      parameter: null,
      evidence:
        'AppScan discovered that the server supports an older TLS version (either TLSv1.0 or TLSv1.1)',
      fingerprint: fp('appscan', 'OldTLS', '/', null),
    });
    const links = findings.filter((f) => f.ruleId === 'attLinkInjection');
    expect(links).toHaveLength(6);
    expect(links.find((f) => f.parameter === 'query')).toMatchObject({
      severity: 'medium',
      cwe: 74,
      url: 'https://demo.testfire.net/search.jsp',
    });
    const bySeverity: Record<string, number> = {};
    for (const f of findings) bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
    expect(bySeverity).toEqual({ high: 11, medium: 20, low: 63, info: 21 });
  });

  it('WebInspect: the issue of the third session, at its URL', async () => {
    const [issue] = await parseFile('webinspect', 'webinspect/one_vuln.xml');
    expect(issue).toEqual({
      scanner: 'webinspect',
      ruleId: '10302',
      name: 'Cache Management: Headers',
      severity: 'info',
      cwe: 200,
      url: 'https://www.microfocus.com:443/',
      path: '/',
      parameter: null,
      evidence: null,
      fingerprint: fp('webinspect', '10302', '/', null),
    });
  });

  it('AppSpider: module id, AttackScore label, N/A as none', async () => {
    const [vuln] = await parseFile('spider', 'appspider/one_vuln.xml');
    expect(vuln).toEqual({
      scanner: 'spider',
      ruleId: 'E33B272027B844D5BBB8EDE541983474',
      name: 'Browser Cache directive (leaking sensitive information)',
      severity: 'low',
      cwe: 525,
      url: 'https://testfire.net/search.aspx',
      path: '/search.aspx',
      parameter: null,
      evidence: 'Cache-Control: private',
      fingerprint: fp('spider', 'E33B272027B844D5BBB8EDE541983474', '/search.aspx', null),
    });
  });

  it('fingerprints are stable across parses and distinct for distinct issues', async () => {
    const a = await parseFile('zap', 'zap/dvwa_baseline_dojo.xml');
    const b = await parseFile('zap', 'zap/dvwa_baseline_dojo.xml');
    expect(b.map((f) => f.fingerprint)).toEqual(a.map((f) => f.fingerprint));
    const keys = new Set(a.map((f) => `${f.ruleId}|${f.path}|${f.parameter}`));
    const prints = new Set(a.map((f) => f.fingerprint));
    expect(keys.size).toBeGreaterThan(50);
    expect(prints.size).toBe(keys.size);
    // Same issue on another host or scheme, or with another query: same fingerprint.
    const [x] = await parseText('zap', zapReport([alertXml(1, 'https://a.example/p?x=1', 'q')]));
    const [y] = await parseText('zap', zapReport([alertXml(1, 'http://b.example/p?y=2', 'q')]));
    const [z] = await parseText('zap', zapReport([alertXml(1, 'http://b.example/p', 'r')]));
    expect(y.fingerprint).toBe(x.fingerprint);
    expect(z.fingerprint).not.toBe(x.fingerprint);
  });
});

describe('scan report parsers: helpers', () => {
  it('burpParameter reads the parameter at the end of a location', () => {
    expect(burpParameter('/login.jsp [password parameter]')).toBe('password');
    expect(burpParameter('/b.jsp [b_id cookie]')).toBe('b_id');
    expect(burpParameter('/x [Referer HTTP header]')).toBe('Referer');
    expect(burpParameter('/x [URL path filename]')).toBeNull();
    expect(burpParameter('/x [name of an arbitrarily supplied URL parameter]')).toBeNull();
    expect(burpParameter('/x [name JSON parameter]')).toBe('name');
    expect(burpParameter('/x')).toBeNull();
  });

  it('urlPath drops scheme, host, query and fragment', () => {
    expect(urlPath('HTTPS://Example.com:8443/a/b?c=d#e')).toBe('/a/b');
    expect(urlPath('/a/b?c')).toBe('/a/b');
    expect(urlPath(null)).toBeNull();
  });

  it('a URL keeps its path case; scheme and host are lower-cased, so the fingerprint ignores them', () => {
    expect(normalizeUrl('HTTPS://Example.COM:8443/A/b?Q=1')).toBe(
      'https://example.com:8443/A/b?Q=1',
    );
    expect(normalizeUrl('/Rel/Path')).toBe('/Rel/Path');
    const fields = {
      ruleId: '1',
      name: 'x',
      severity: 'low' as const,
      cwe: null,
      parameter: null,
      evidence: null,
    };
    const upper = buildFinding('zap', { ...fields, url: 'HTTP://Host/A' });
    const lower = buildFinding('zap', { ...fields, url: 'http://host/A' });
    expect(upper.url).toBe('http://host/A');
    expect(upper.path).toBe('/A');
    expect(upper.fingerprint).toBe(lower.fingerprint);
    expect(buildFinding('zap', { ...fields, url: 'http://host/a' }).fingerprint).not.toBe(
      lower.fingerprint,
    );
  });
});

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

// ---- generated reports -------------------------------------------------------------------------

function zapReport(alerts: string[]): string {
  return `<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="x"><alerts>${alerts.join('')}</alerts></site></OWASPZAPReport>`;
}

/** One ZAP alert item with one instance and ~`padding` characters of request/response traffic. */
function alertXml(i: number, uri: string, param = 'q', padding = 0): string {
  return (
    `<alertitem><pluginid>10${i % 50}</pluginid><name>Rule ${i % 50}</name><riskcode>${i % 4}</riskcode>` +
    `<desc>&lt;p&gt;description ${i}&lt;/p&gt;</desc><instances><instance><uri>${uri}</uri><method>GET</method>` +
    `<param>${param}</param><evidence>ev ${i}</evidence>` +
    `<responsebody><![CDATA[${'r'.repeat(padding)}]]></responsebody></instance></instances>` +
    `<count>1</count><cweid>79</cweid></alertitem>\n`
  );
}

/** Streams a ZAP report of `count` alerts, `perChunk` alerts per chunk; never the whole text at once. */
async function* generatedZap(
  count: number,
  perChunk: number,
  padding: number,
  onChunk?: () => void,
): AsyncGenerator<Buffer> {
  yield Buffer.from(
    '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="https://big.example"><alerts>',
  );
  for (let i = 0; i < count; i += perChunk) {
    let text = '';
    for (let j = i; j < Math.min(count, i + perChunk); j++) {
      text += alertXml(j, `https://big.example/app/page${j}?id=${j}`, 'q', padding);
    }
    onChunk?.();
    yield Buffer.from(text);
  }
  yield Buffer.from('</alerts></site></OWASPZAPReport>');
}

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

/** The parsers on DefectDojo's sample reports (test/fixtures/scans), and their helpers. */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { alertXml, zapReport } from '../../../../test/support/generated-zap';
import { parseScanReport, type NormalizedFinding } from '../index';
import { buildFinding, normalizeUrl } from './build-finding';
import { burpParameter } from './burp.parser';
import { findingFingerprint, urlPath } from './fingerprint';

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

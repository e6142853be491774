/**
 * Defects found by running DefectDojo's own sample reports (test/fixtures/scans, BSD licence)
 * through the parsers: each test failed before its fix.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseScanReport, type NormalizedFinding } from '../index';

const FIXTURES = join(__dirname, '../../../../test/fixtures/scans');

async function parseFile(scanner: string, file: string): Promise<NormalizedFinding[]> {
  const findings: NormalizedFinding[] = [];
  await parseScanReport(scanner, createReadStream(join(FIXTURES, file)), (f) => {
    findings.push(f);
  });
  return findings;
}

/** One vulnerability per fingerprint, as the merge keeps it: the first finding's fields. */
function merged(findings: NormalizedFinding[]): Map<string, NormalizedFinding> {
  const byFingerprint = new Map<string, NormalizedFinding>();
  for (const f of findings)
    if (!byFingerprint.has(f.fingerprint)) byFingerprint.set(f.fingerprint, f);
  return byFingerprint;
}

describe('Burp: issues raised by extensions (all of type 134217728)', () => {
  it('are told apart by name: 430 distinct issues of issue4399.xml stay 430 vulnerabilities', async () => {
    const findings = await parseFile('burp', 'burp/issue4399.xml');
    expect(findings).toHaveLength(441);
    const distinctIssues = new Set(findings.map((f) => `${f.name}|${f.path}|${f.parameter}`));
    expect(distinctIssues.size).toBe(430);
    const vulnerabilities = [...merged(findings).values()];
    expect(vulnerabilities).toHaveLength(430);

    const sniffing = vulnerabilities.filter((v) => v.name === 'Content Sniffing not disabled');
    expect(sniffing.length).toBeGreaterThan(0);
    expect(findings.filter((f) => f.name === 'Content Sniffing not disabled')).toHaveLength(40);
    expect(sniffing[0]).toMatchObject({
      ruleId: '134217728:Content Sniffing not disabled',
      severity: 'low',
    });
    const vulners = vulnerabilities.find(
      (v) => v.name === '[Vulners] Vulnerable Software detected',
    );
    expect(vulners).toMatchObject({ severity: 'medium', path: '/' });
    const software = vulnerabilities.find((v) => v.name === '[Vulners] Software detected');
    expect(software).toMatchObject({ severity: 'info', path: '/' });
    expect(software?.fingerprint).not.toBe(vulners?.fingerprint);
  });

  it("Burp's own issue types keep their number as the rule id", async () => {
    const findings = await parseFile('burp', 'burp/issue4399.xml');
    const own = findings.filter((f) => !f.ruleId.startsWith('134217728'));
    expect(own.length).toBeGreaterThan(0);
    for (const f of own) expect(f.ruleId).toMatch(/^\d+$/);
  });
});

describe('Acunetix', () => {
  it.each([
    ['acunetix/many_findings_with_port_number.xml', 'http://www.itsecgames.com:8080/'],
    ['acunetix/XML_http_example_co_id_port_num.xml', 'http://example.co.id:9000/'],
  ])(
    'a host:port StartURL (%s) is taken as http, so every finding has a url with the port',
    async (file, start) => {
      const findings = await parseFile('acunetix', file);
      expect(findings.length).toBeGreaterThan(0);
      for (const f of findings) {
        expect(f.url).not.toBeNull();
        expect(f.url?.startsWith(start)).toBe(true);
      }
    },
  );

  it('a StartURL with a scheme is kept; one without a scheme or port gets http', async () => {
    const report = (start: string) =>
      `<ScanGroup><Scan><StartURL>${start}</StartURL><ReportItems><ReportItem><Name>X</Name><Affects>/a</Affects><Severity>low</Severity></ReportItem></ReportItems></Scan></ScanGroup>`;
    for (const [start, url] of [
      ['https://h.example:8443', 'https://h.example:8443/a'],
      ['h.example', 'http://h.example/a'],
      ['h.example:8080/base/', 'http://h.example:8080/a'],
      ['localhost:3000', 'http://localhost:3000/a'],
    ]) {
      const [f] = await parseText('acunetix', report(start));
      expect({ start, url: f.url }).toEqual({ start, url });
    }
  });

  it('the <empty> parameter placeholder means no parameter', async () => {
    const findings = await parseFile('acunetix', 'acunetix/XML_http_example_co_id_port_num.xml');
    expect(findings.filter((f) => f.parameter === '<empty>')).toEqual([]);
    // The three items whose <Parameter> is <empty> in the file: no parameter, as for an empty one.
    const forms = findings.filter((f) => f.path === '/h/search' || f.path === '/m/zmain');
    expect(forms).toHaveLength(3);
    for (const f of forms) expect(f.parameter).toBeNull();
    const [one] = await parseText(
      'acunetix',
      '<ScanGroup><Scan><StartURL>h.example</StartURL><ReportItems><ReportItem><Name>X</Name><Affects>/a</Affects><Parameter><![CDATA[<empty>]]></Parameter></ReportItem></ReportItems></Scan></ScanGroup>',
    );
    const [none] = await parseText(
      'acunetix',
      '<ScanGroup><Scan><StartURL>h.example</StartURL><ReportItems><ReportItem><Name>X</Name><Affects>/a</Affects><Parameter></Parameter></ReportItem></ReportItems></Scan></ScanGroup>',
    );
    expect(one.parameter).toBeNull();
    expect(one.fingerprint).toBe(none.fingerprint);
  });
});

async function parseText(scanner: string, xml: string): Promise<NormalizedFinding[]> {
  const findings: NormalizedFinding[] = [];
  await parseScanReport(scanner, Readable.from([Buffer.from(xml)]), (f) => {
    findings.push(f);
  });
  return findings;
}

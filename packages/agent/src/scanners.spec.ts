import { resolveScanner, SCANNER_SHORT_NAMES } from './scanners';

describe('resolveScanner', () => {
  it.each([
    ['zap', 'zap'],
    ['OWASP Zed Attack Proxy', 'zap'],
    ['  owasp zap ', 'zap'],
    ['Burp Suite', 'burp'],
    ['NTO SPIDER', 'spider'],
    ['IBM Rational AppScan', 'appscan'],
    ['Acunetix WVS', 'acunetix'],
    ['webinspect', 'webinspect'],
  ])('knows %j as %s', (name, shortName) => {
    expect(resolveScanner(name)?.shortName).toBe(shortName);
  });

  it('gives each scanner its display name, the one tasks carry as taskType', () => {
    expect(resolveScanner('burp')?.displayName).toBe('Burp Suite Pro');
    expect(resolveScanner('spider')?.displayName).toBe('AppSpider');
  });

  it('knows nothing else', () => {
    expect(resolveScanner('nikto')).toBeUndefined();
    expect(resolveScanner('')).toBeUndefined();
  });

  it('lists the six scan-agent scanners', () => {
    expect(SCANNER_SHORT_NAMES).toEqual([
      'acunetix',
      'spider',
      'burp',
      'appscan',
      'zap',
      'webinspect',
    ]);
  });
});

import { ConfigError, loadAppConfig } from '../config/app-config';
import { isHostRule } from '../config/host-rules';
import { embeddedIpv4, TargetHostRules } from './target-host-rules';

const defaults = new TargetHostRules({ allow: [], deny: [] });
const reason = (rules: TargetHostRules, url: string) => rules.refusal(url)?.reason;

describe('TargetHostRules, by default', () => {
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.255.255.254:8080/', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal
    ['http://0x7f.1/', 'loopback'], // hex, short form
    ['http://017700000001/', 'loopback'], // octal
    ['http://%31%32%37.0.0.1/', 'loopback'], // percent-encoded
    ['http://１２７.０.０.１/', 'loopback'], // full-width digits
    ['http://127.0.0.1./', 'loopback'], // trailing dot
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'], // IPv4-mapped
    ['http://[::127.0.0.1]/', 'loopback'], // IPv4-compatible
    ['http://localhost/', 'loopback'],
    ['http://LOCALHOST./', 'loopback'],
    ['http://a.b.localhost/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://user:pw@169.254.169.254/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[febf::1]/', 'link-local'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://[64:ff9b::169.254.169.254]/', 'link-local'], // NAT64
    ['http://0/', 'unspecified'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://metadata.google.internal/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://100.100.100.200/', 'metadata'],
  ])('refuses %s (%s)', (url, kind) => {
    expect(reason(defaults, url)).toContain(kind);
  });

  it.each([
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'https://[fd12:3456::1]/',
    'http://169.253.255.255/',
    'http://169.255.0.1/',
    'http://128.0.0.1/',
    'http://1.0.0.0/',
    'http://[::808:808]/', // IPv4-compatible 8.8.8.8
    'http://[fe7f::1]/',
    'http://[fec0::1]/',
    'http://app.internal/',
    'http://localhost.example.com/', // not *.localhost
    'http://mylocalhost/',
    'http://metadata.google.internal.example/',
  ])('allows %s', (url) => {
    expect(defaults.refusal(url)).toBeUndefined();
  });

  it('refuses what is not a URL', () => {
    expect(defaults.refusal('not a url')).toEqual({ host: '(none)', reason: 'not a URL' });
  });
});

describe('TargetHostRules with operator lists', () => {
  const rules = new TargetHostRules({
    allow: ['127.0.0.1', 'fe80::/64', 'dev.localhost', '10.9.0.0/16'],
    deny: ['10.0.0.0/8', '*.corp.example', 'exact.example', '2001:db8::/32'],
  });

  it('TARGET_URL_ALLOW exempts hosts and ranges from the defaults and from TARGET_URL_DENY', () => {
    expect(rules.refusal('http://127.0.0.1/')).toBeUndefined();
    expect(rules.refusal('http://[::ffff:127.0.0.1]/')).toBeUndefined();
    expect(rules.refusal('http://[fe80::5]/')).toBeUndefined();
    expect(rules.refusal('http://dev.localhost/')).toBeUndefined();
    expect(rules.refusal('http://10.9.1.1/')).toBeUndefined();
    expect(reason(rules, 'http://127.0.0.2/')).toContain('loopback');
    expect(reason(rules, 'http://[fe80:0:0:1::5]/')).toContain('link-local');
    expect(reason(rules, 'http://other.localhost/')).toContain('loopback');
  });

  it('TARGET_URL_DENY adds ranges, exact names and subdomains (not the domain itself)', () => {
    expect(reason(rules, 'http://10.1.2.3/')).toBe('denied by TARGET_URL_DENY');
    expect(reason(rules, 'http://[::ffff:10.1.2.3]/')).toBe('denied by TARGET_URL_DENY');
    expect(reason(rules, 'http://a.b.corp.example/')).toBe('denied by TARGET_URL_DENY');
    expect(reason(rules, 'http://EXACT.example./')).toBe('denied by TARGET_URL_DENY');
    expect(reason(rules, 'http://[2001:db8::1]/')).toBe('denied by TARGET_URL_DENY');
    expect(rules.refusal('http://corp.example/')).toBeUndefined();
    expect(rules.refusal('http://sub.exact.example/')).toBeUndefined();
    expect(rules.refusal('http://11.0.0.1/')).toBeUndefined();
  });

  it('`*` in TARGET_URL_DENY with an allow list: only the listed names may be scanned', () => {
    const only = new TargetHostRules({
      allow: ['*.apps.example', '10.20.0.0/16'],
      deny: ['*', '0.0.0.0/0', '::/0'],
    });
    expect(only.refusal('http://shop.apps.example/')).toBeUndefined();
    expect(only.refusal('http://10.20.3.4/')).toBeUndefined();
    expect(reason(only, 'http://elsewhere.example/')).toBe('denied by TARGET_URL_DENY');
    expect(reason(only, 'http://8.8.8.8/')).toBe('denied by TARGET_URL_DENY');
    expect(reason(only, 'http://[2001:db8::1]/')).toBe('denied by TARGET_URL_DENY');
  });
});

describe('embeddedIpv4', () => {
  it.each([
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['::a00:1', '10.0.0.1'],
    ['::1', undefined],
    ['::', undefined],
    ['2001:db8::7f00:1', undefined],
  ])('%s → %s', (address, expected) => {
    expect(embeddedIpv4(address)).toBe(expected);
  });
});

describe('TARGET_URL_ALLOW / TARGET_URL_DENY at boot', () => {
  it.each(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1', 'host.example', '*.example.com', '*'])(
    'accepts %s',
    (rule) => expect(isHostRule(rule)).toBe(true),
  );

  it.each([
    '10.0.0.0/33',
    '10.0.0/8',
    'fd00::/129',
    '10.0.0.0/8/1',
    'http://x',
    'a b',
    '*.',
    '**',
    '10.0.0.0/-1',
    'x/8',
  ])('refuses %s', (rule) => expect(isHostRule(rule)).toBe(false));

  it('a bad entry stops the start and names the variable', () => {
    expect(() => loadAppConfig({ TARGET_URL_DENY: '10.0.0.0/8, 10.0.0.0/40' })).toThrow(
      ConfigError,
    );
    expect(() => loadAppConfig({ TARGET_URL_ALLOW: 'http://127.0.0.1/' })).toThrow(
      /TARGET_URL_ALLOW="http:\/\/127\.0\.0\.1\/": TARGET_URL_ALLOW must be comma-separated/,
    );
    expect(
      loadAppConfig({ TARGET_URL_DENY: ' 10.0.0.0/8 ,*.corp.example,, ' }).TARGET_URL_DENY,
    ).toEqual(['10.0.0.0/8', '*.corp.example']);
  });

  it('the domain bounds are validated too', () => {
    expect(() => loadAppConfig({ STATUS_MESSAGE_MAX_CHARS: '10' })).toThrow(
      /STATUS_MESSAGE_MAX_CHARS/,
    );
    expect(() => loadAppConfig({ STATUS_MESSAGES_PER_TASK: 'many' })).toThrow(
      /STATUS_MESSAGES_PER_TASK/,
    );
    expect(() => loadAppConfig({ MAX_CONCURRENT_UPLOADS_PER_AGENT: '0' })).toThrow(
      /MAX_CONCURRENT_UPLOADS_PER_AGENT/,
    );
    const config = loadAppConfig({});
    expect([
      config.STATUS_MESSAGE_MAX_CHARS,
      config.STATUS_MESSAGES_PER_TASK,
      config.MAX_CONCURRENT_UPLOADS_PER_AGENT,
      config.MAX_CONCURRENT_UPLOADS_PER_API_KEY,
    ]).toEqual([4096, 5000, 2, 64]);
  });
});

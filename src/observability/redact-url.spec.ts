import { redactUrl } from './redact-url';

describe('redactUrl', () => {
  it('hides the values of ThreadFix key parameters and keeps the rest of the URL', () => {
    expect(
      redactUrl(
        '/threadfix/rest/latest/tasks/requestTask?apiKey=AAA&scanAgentSecureKey=BBB&secureTaskKey=CCC&scanners=zap,burp',
      ),
    ).toBe(
      '/threadfix/rest/latest/tasks/requestTask?apiKey=[REDACTED]&scanAgentSecureKey=[REDACTED]&secureTaskKey=[REDACTED]&scanners=zap,burp',
    );
  });

  it('recognises key names in any case and percent-encoded, and any credential-like name', () => {
    expect(redactUrl('/x?APIKEY=a&api%4Bey=b&token=c&password=d&page=2')).toBe(
      '/x?APIKEY=[REDACTED]&api%4Bey=[REDACTED]&token=[REDACTED]&password=[REDACTED]&page=2',
    );
  });

  it("hides ThreadFix's repository credentials (updateApplication sends them in the query)", () => {
    expect(
      redactUrl(
        '/rest/v2.8.3/applications/1/update?name=A&repositoryUserName=bob&repositoryPassword=pw',
      ),
    ).toBe(
      '/rest/v2.8.3/applications/1/update?name=A&repositoryUserName=[REDACTED]&repositoryPassword=[REDACTED]',
    );
  });

  it('treats a name that does not decode as a secret', () => {
    expect(redactUrl('/x?%E0%A4%A=secret&id=1')).toBe('/x?%E0%A4%A=[REDACTED]&id=1');
  });

  it('leaves a URL without a query, or with empty and value-less parameters, as it was', () => {
    expect(redactUrl('/threadfix/rest/tasks/12')).toBe('/threadfix/rest/tasks/12');
    expect(redactUrl('/x?flag&&a=1')).toBe('/x?flag&&a=1');
  });

  it('cuts very long URLs', () => {
    const long = redactUrl(`/x/${'a'.repeat(5000)}`);
    expect(long).toHaveLength(2049);
    expect(long.endsWith('…')).toBe(true);
  });
});

import { isCleartextRemote, RedirectRefused, redirectTarget } from './threadfix-client';

describe('redirectTarget', () => {
  const from = new URL('https://scanqueue.example/threadfix/rest/latest/tasks/requestTask');

  it('follows a 307/308 within the same origin, keeping the method', () => {
    expect(redirectTarget(from, 307, '/other/requestTask', 'POST').href).toBe(
      'https://scanqueue.example/other/requestTask',
    );
    expect(redirectTarget(from, 308, 'https://scanqueue.example/x', 'POST').href).toBe(
      'https://scanqueue.example/x',
    );
    expect(redirectTarget(from, 302, 'requestScanAgentKey', 'GET').href).toBe(
      'https://scanqueue.example/threadfix/rest/latest/tasks/requestScanAgentKey',
    );
  });

  it.each([
    ['another host', 'https://attacker.example/threadfix'],
    ['another scheme', 'http://scanqueue.example/threadfix'],
    ['another port', 'https://scanqueue.example:8443/threadfix'],
    ['a protocol-relative URL', '//attacker.example/x'],
  ])('refuses %s', (_what, location) => {
    expect(() => redirectTarget(from, 307, location, 'POST')).toThrow(RedirectRefused);
    expect(() => redirectTarget(from, 307, location, 'POST')).toThrow(/another origin/);
  });

  it('refuses a POST turned GET (301/302/303) and a redirect without a Location', () => {
    expect(() => redirectTarget(from, 302, '/x', 'POST')).toThrow(/redirect \(302\) of a POST/);
    expect(() => redirectTarget(from, 307, null, 'GET')).toThrow(/without a Location/);
  });
});

describe('isCleartextRemote', () => {
  it.each([
    ['http://scanqueue.internal:8080/threadfix', true],
    ['http://10.1.2.3/threadfix', true],
    ['http://0.0.0.0:8080/threadfix', true],
    ['https://scanqueue.internal/threadfix', false],
    ['http://localhost:8080/threadfix', false],
    ['http://agent.localhost/threadfix', false],
    ['http://127.0.0.1:8080/threadfix', false],
    ['http://127.8.9.10/threadfix', false],
    ['http://[::1]:8080/threadfix', false],
  ])('%s → %s', (url, warned) => {
    expect(isCleartextRemote(url)).toBe(warned);
  });
});

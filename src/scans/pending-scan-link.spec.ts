import type { FastifyRequest } from 'fastify';
import { pendingScanHref } from './pending-scan-link';

const request = (originalUrl: string, host: string | undefined, protocol = 'http') =>
  ({ originalUrl, url: originalUrl, headers: { host }, protocol }) as unknown as FastifyRequest;

describe('pendingScanHref', () => {
  it('keeps the context path and version segment the upload used', () => {
    expect(
      pendingScanHref(request('/threadfix/rest/v2.8.3/applications/12/upload', 'h:8080'), 12, 34),
    ).toBe('http://h:8080/threadfix/rest/v2.8.3/applications/12/pendingScan/34/status');
    expect(
      pendingScanHref(request('/rest/applications/12/upload?apiKey=k', 'h', 'https'), 12, 5),
    ).toBe('https://h/rest/applications/12/pendingScan/5/status');
  });

  it('does not echo a Host header that is not a host', () => {
    expect(pendingScanHref(request('/rest/latest/applications/1/upload', 'evil/"><x'), 1, 2)).toBe(
      'http://localhost/rest/latest/applications/1/pendingScan/2/status',
    );
    expect(pendingScanHref(request('/rest/latest/applications/1/upload', undefined), 1, 2)).toBe(
      'http://localhost/rest/latest/applications/1/pendingScan/2/status',
    );
    expect(pendingScanHref(request('/rest/latest/applications/1/upload', '[::1]:80'), 1, 2)).toBe(
      'http://[::1]:80/rest/latest/applications/1/pendingScan/2/status',
    );
  });
});

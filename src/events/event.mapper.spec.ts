import { loadAppConfig } from '../config/app-config';
import { OutboxRow, registerEventMapper, toEventMessage } from './event.mapper';
import { redactUrls, webhookSignature } from './delivery-policy';

const row = (type: string): OutboxRow => ({
  id: '42',
  event_type: type,
  subject: type,
  created_at: new Date('2026-11-29T08:20:00.000Z'),
  payload: { thing: { id: 7 }, secret: 'f'.repeat(64) },
});

describe('toEventMessage', () => {
  it("wraps the registered mapper's fields in the versioned envelope", () => {
    registerEventMapper('widget', (stored) => ({ widget: stored.payload.thing }));
    expect(toEventMessage(row('widget.made'))).toEqual({
      specVersion: 1,
      id: '42',
      type: 'widget.made',
      occurredAt: '2026-11-29T08:20:00.000Z',
      widget: { id: 7 },
    });
  });

  it('refuses an event no module maps', () => {
    expect(() => toEventMessage(row('gadget.made'))).toThrow(/unknown type gadget\.made/);
  });
});

describe('secrets in events configuration and errors', () => {
  it('signs the exact body with HMAC-SHA256 as sha256=<hex>', () => {
    // RFC 4231 test case 2.
    expect(webhookSignature('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('keeps NATS credentials out of error text', () => {
    expect(redactUrls('CONNECTION_REFUSED nats://svc:s3cret@nats.internal:4222')).toBe(
      'CONNECTION_REFUSED nats://***@nats.internal:4222',
    );
  });

  it('refuses webhook URLs that are not http(s) and a missing secret, without printing it', () => {
    expect(() =>
      loadAppConfig({ WEBHOOK_URLS: 'https://ok.example/h, file:///etc/passwd' }),
    ).toThrow(/WEBHOOK_URLS/);
    expect(() => loadAppConfig({ WEBHOOK_URLS: 'https://ok.example/h' })).toThrow(/WEBHOOK_SECRET/);
    expect(() =>
      loadAppConfig({ WEBHOOK_URLS: 'https://ok.example/h', WEBHOOK_SECRET: 'tooshort' }),
    ).toThrow(/WEBHOOK_SECRET=\(not shown\)/);
    const config = loadAppConfig({
      WEBHOOK_URLS: 'https://a.example/h , http://10.0.0.5:8080/hook',
      WEBHOOK_SECRET: 'x'.repeat(32),
    });
    expect(config.WEBHOOK_URLS).toEqual(['https://a.example/h', 'http://10.0.0.5:8080/hook']);
  });
});

import { loadAppConfig } from '../config/app-config';
import { OutboxRow, toEventMessage } from './event.mapper';
import { redactUrls, retryDelayMs, webhookSignature } from './delivery-policy';

const row = (overrides: Partial<OutboxRow['payload']> = {}): OutboxRow => ({
  id: '42',
  event_type: 'task.completed',
  subject: 'task.completed',
  created_at: new Date('2026-11-29T08:20:00.000Z'),
  payload: {
    task: {
      id: 7,
      applicationId: 3,
      scanner: 'OWASP Zed Attack Proxy',
      status: 3,
      agentId: 2,
      targetUrl: null,
      timeoutSeconds: 43200,
      // As PostgreSQL's to_jsonb renders a timestamptz in a non-UTC session.
      createdAt: '2026-11-29T09:00:00.123456+01:00',
      startTime: '2026-11-29T08:00:05+00:00',
      endTime: '2026-11-29T08:20:00+00:00',
      timeoutTime: null,
    },
    message: 'Scan completed successfully at: 2026-11-29T08:20:00.000Z',
    scan: { id: 12, sha256: 'ab'.repeat(32), sizeBytes: 48213 },
    ...overrides,
  },
});

describe('toEventMessage', () => {
  it('builds the documented spec-version-1 message, times in ISO-8601 UTC', () => {
    expect(toEventMessage(row())).toEqual({
      specVersion: 1,
      id: '42',
      type: 'task.completed',
      occurredAt: '2026-11-29T08:20:00.000Z',
      task: {
        id: 7,
        applicationId: 3,
        scanner: 'OWASP Zed Attack Proxy',
        scannerShortName: 'zap',
        status: 3,
        statusName: 'COMPLETE_SUCCESSFUL',
        agentId: 2,
        targetUrl: null,
        timeoutSeconds: 43200,
        createdAt: '2026-11-29T08:00:00.123Z',
        startTime: '2026-11-29T08:00:05.000Z',
        endTime: '2026-11-29T08:20:00.000Z',
        timeoutTime: null,
      },
      message: 'Scan completed successfully at: 2026-11-29T08:20:00.000Z',
      scan: { id: 12, sha256: 'ab'.repeat(32), sizeBytes: 48213 },
    });
  });

  it('leaves out scan when the event has none, and passes no unknown stored field through', () => {
    const stored = row({ scan: null });
    (stored.payload.task as Record<string, unknown>).secure_key_hash = 'f'.repeat(64);
    const message = toEventMessage(stored);
    expect(message).not.toHaveProperty('scan');
    expect(JSON.stringify(message)).not.toContain('f'.repeat(64));
  });
});

describe('retryDelayMs', () => {
  it('doubles per attempt with jitter in the upper half of the step, capped', () => {
    for (let i = 0; i < 200; i++) {
      const first = retryDelayMs(1, 100, 10_000);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      const fourth = retryDelayMs(4, 100, 10_000);
      expect(fourth).toBeGreaterThanOrEqual(400);
      expect(fourth).toBeLessThanOrEqual(800);
      const late = retryDelayMs(60, 100, 10_000);
      expect(late).toBeGreaterThanOrEqual(5_000);
      expect(late).toBeLessThanOrEqual(10_000);
    }
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

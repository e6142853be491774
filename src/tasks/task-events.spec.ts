import { OutboxRow, toEventMessage } from '../events/event.mapper';
import './task-events';

const row = (overrides: Record<string, unknown> = {}): OutboxRow => ({
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

describe('toEventMessage of a task event', () => {
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
        // An event stored before issue 14 reads as a first attempt of priority 0.
        priority: 0,
        attempt: 1,
        attempts: 1,
        retryOfTaskId: null,
        notBefore: null,
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

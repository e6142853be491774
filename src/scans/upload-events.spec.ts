import { OutboxRow, toEventMessage } from '../events/event.mapper';
import './upload-events';

describe('toEventMessage of a direct upload (scan.uploaded, scan.imported, scan.import_failed)', () => {
  it('builds the documented message, times in ISO-8601 UTC, no unknown stored field', () => {
    const row: OutboxRow = {
      id: '51',
      event_type: 'scan.uploaded',
      subject: 'scan.uploaded',
      created_at: new Date('2026-11-29T08:20:00.000Z'),
      payload: {
        upload: {
          id: 34,
          applicationId: 12,
          apiKeyId: 3,
          originalFilename: 'zap-report.xml',
          createdAt: '2026-11-29T09:20:00.5+01:00',
        },
        scan: {
          id: 9,
          scanner: 'OWASP Zed Attack Proxy',
          sha256: 'ab'.repeat(32),
          sizeBytes: 2977,
        },
        phase: 'queued',
        message: 'Scan file uploaded at: 2026-11-29T08:20:00.500Z; its import is queued',
      },
    };
    (row.payload.upload as Record<string, unknown>).key_hash = 'f'.repeat(64);
    expect(toEventMessage(row)).toEqual({
      specVersion: 1,
      id: '51',
      type: 'scan.uploaded',
      occurredAt: '2026-11-29T08:20:00.000Z',
      upload: {
        id: 34,
        applicationId: 12,
        apiKeyId: 3,
        originalFilename: 'zap-report.xml',
        createdAt: '2026-11-29T08:20:00.500Z',
      },
      scan: {
        id: 9,
        scanner: 'OWASP Zed Attack Proxy',
        scannerShortName: 'zap',
        sha256: 'ab'.repeat(32),
        sizeBytes: 2977,
      },
      phase: 'queued',
      message: 'Scan file uploaded at: 2026-11-29T08:20:00.500Z; its import is queued',
    });
  });
});

/**
 * requestTask's everyday form skips class-validator (plainRequestTaskParams, issue 15): on 3,000
 * random forms, whatever the quick path accepts, the DTO's validation accepts and turns into the
 * same parameters. Run in plain Node on the build (support/request-task-params-parity.mjs), as
 * Jest cannot load Nest 12's ES modules; and over HTTP, where a refusal reads the same whichever
 * path the form took. A urlencoded poll takes the lane in front of Nest (src/edge/request-task-lane.ts),
 * a multipart one Nest's pipeline: they answer alike.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { givenKey } from './access-fixtures';
import { givenAgentKey, TASKS } from './support/agent-flow';
import { apiKeyHeader, TestServer } from './support/test-server';

const run = promisify(execFile);

describe('requestTask parameters: the quick path and the validation agree', () => {
  it('on 3,000 random forms, with both paths taken', async () => {
    const script = path.join(__dirname, 'support/request-task-params-parity.mjs');
    const { stdout } = await run(process.execPath, [script, '20261130']);
    const result = JSON.parse(stdout) as { accepted: number; fellBack: number; mismatches: [] };
    expect(result.mismatches).toEqual([]);
    expect(result.accepted).toBeGreaterThan(100);
    expect(result.fellBack).toBeGreaterThan(100);
  });

  describe('over HTTP', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await TestServer.start();
    }, 60_000);
    afterAll(() => t?.stop());

    it('answers a form the quick path takes, and words the refusals it leaves to validation', async () => {
      const agent = await givenAgentKey(t);
      const poll = (form: Record<string, string>) =>
        t.postForm(`${TASKS}/requestTask`, t.adminKey, form);
      const ok = await poll({ scanners: 'zap', scanAgentSecureKey: agent, waitSeconds: '0' });
      expect([ok.status, ok.body.message]).toEqual([200, 'No task found.']);
      const cases: [Record<string, string>, number, string][] = [
        [{ scanners: ' ', scanAgentSecureKey: agent }, 400, 'scanners'],
        [{ scanners: 'z'.repeat(2001), scanAgentSecureKey: agent }, 400, 'scanners'],
        [{ scanners: 'zap', scanAgentSecureKey: 'k'.repeat(201) }, 400, 'scanAgentSecureKey'],
        [{ scanners: 'zap', scanAgentSecureKey: agent, waitSeconds: '1.5' }, 400, 'waitSeconds'],
        [{ scanners: 'zap', scanAgentSecureKey: agent, waitSeconds: '3601' }, 400, 'waitSeconds'],
      ];
      for (const [form, status, named] of cases) {
        const res = await poll(form);
        expect([form, res.status, res.body.success]).toEqual([form, status, false]);
        expect(res.body.message).toContain(named);
      }
    });

    it('answers alike through the lane (urlencoded) and through Nest (multipart)', async () => {
      const agent = await givenAgentKey(t);
      const restricted = await givenKey(t, ['CAN_RUN_SCAN_AGENT'], { restricted: true });
      const noPermission = await givenKey(t, ['READ_ACCESS']);
      const cases: [string, string | undefined, Record<string, string>][] = [
        ['no task', t.adminKey, { scanners: 'zap', scanAgentSecureKey: agent }],
        ['restricted key', restricted.key, { scanners: 'zap', scanAgentSecureKey: agent }],
        ['no permission', noPermission.key, { scanners: 'zap', scanAgentSecureKey: agent }],
        ['no API key', undefined, { scanners: 'zap', scanAgentSecureKey: agent }],
        ['no agent key', t.adminKey, { scanners: 'zap' }],
        ['unknown agent key', t.adminKey, { scanners: 'zap', scanAgentSecureKey: 'nope' }],
        ['no scanners', t.adminKey, { scanAgentSecureKey: agent }],
        ['NUL', t.adminKey, { scanners: 'zap\u0000', scanAgentSecureKey: agent }],
        ['bad wait', t.adminKey, { scanners: 'zap', scanAgentSecureKey: agent, waitSeconds: 'x' }],
      ];
      for (const [what, key, form] of cases) {
        const lane = await t.postForm(`${TASKS}/requestTask`, key, form);
        const nest = await t.postMultipart(`${TASKS}/requestTask`, key, form);
        expect([what, lane.status, lane.body]).toEqual([what, nest.status, nest.body]);
      }
    });

    it('sends "No task found." byte for byte as Nest does, with the same headers', async () => {
      const agent = await givenAgentKey(t);
      const fields = { scanners: 'zap', scanAgentSecureKey: agent };
      const multipart = new FormData();
      for (const [name, value] of Object.entries(fields)) multipart.append(name, value);
      const send = async (body: URLSearchParams | FormData) => {
        const res = await fetch(`${t.baseUrl}${TASKS}/requestTask`, {
          method: 'POST',
          headers: apiKeyHeader(t.adminKey),
          body,
        });
        const pacing = res.headers.get('x-scanqueue-poll-interval');
        return [res.status, res.headers.get('content-type'), pacing, await res.text()];
      };
      // The first poll claims (the lane's promise path); the next ones are answered from the
      // marks it left, with no promise (the known-empty path that empty-polls proves sends
      // PostgreSQL nothing).
      const claimed = await send(new URLSearchParams(fields));
      expect(claimed[3]).toContain('No task found.');
      const nest = await send(multipart);
      const known = await send(new URLSearchParams(fields));
      expect([claimed, known]).toEqual([nest, nest]);
    });

    it('answers alike whether the form came with its headers or after them', async () => {
      const agent = await givenAgentKey(t);
      const { hostname, port } = new URL(t.baseUrl);
      // One write: the form is in the request's buffer when the lane's onRequest hook looks
      // (src/rest/buffered-form.ts). Headers, then the form 50 ms later: Fastify reads it.
      const poll = (key: string | undefined, form: Buffer, split: boolean) =>
        new Promise<string>((resolve, reject) => {
          const head = Buffer.from(
            `POST ${TASKS}/requestTask HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n` +
              (key ? `Authorization: APIKEY ${key}\r\n` : '') +
              'Content-Type: application/x-www-form-urlencoded\r\n' +
              `Content-Length: ${form.length}\r\n\r\n`,
          );
          const socket = connect(Number(port), hostname);
          const chunks: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.on('error', reject);
          socket.on('end', () => {
            // What differs by nature between two answers: their request id and date.
            const text = Buffer.concat(chunks).toString('latin1');
            resolve(text.replace(/^(x-request-id|date): .*\r\n/gim, ''));
          });
          if (!split) return void socket.write(Buffer.concat([head, form]));
          socket.write(head);
          setTimeout(() => socket.write(form), 50);
        });
      const text = (form: string) => Buffer.from(form);
      const cases: [string, string | undefined, Buffer][] = [
        ['no task', t.adminKey, text(`scanners=zap&scanAgentSecureKey=${agent}`)],
        ['repeated', t.adminKey, text(`scanners=zap&scanners=burp&scanAgentSecureKey=${agent}`)],
        ['NUL', t.adminKey, text(`scanners=zap%00&scanAgentSecureKey=${agent}`)],
        ['__proto__', t.adminKey, text(`__proto__=x&scanners=zap&scanAgentSecureKey=${agent}`)],
        ['bad wait', t.adminKey, text(`scanners=zap&scanAgentSecureKey=${agent}&waitSeconds=x`)],
        ['unknown agent', t.adminKey, text('scanners=zap&scanAgentSecureKey=nope')],
        ['no agent key', t.adminKey, text('scanners=zap')],
        [
          'form apiKey',
          undefined,
          text(`apiKey=${t.adminKey}&scanners=zap&scanAgentSecureKey=${agent}`),
        ],
        [
          'raw bytes',
          t.adminKey,
          Buffer.concat([
            text(`scanAgentSecureKey=${agent}&scanners=z`),
            Buffer.from([0xff, 0xfe]),
          ]),
        ],
      ];
      for (const [what, key, form] of cases) {
        const whole = await poll(key, form, false);
        const late = await poll(key, form, true);
        expect([what, whole]).toEqual([what, late]);
        expect(whole).toMatch(/^HTTP\/1\.1 (200|4\d\d) /);
      }
    });

    it('keeps the connection: pipelined polls, then one more, all answered on one socket', async () => {
      const agent = await givenAgentKey(t);
      const { hostname, port } = new URL(t.baseUrl);
      const form = `scanners=zap&scanAgentSecureKey=${agent}`;
      const request =
        `POST ${TASKS}/requestTask HTTP/1.1\r\nHost: ${hostname}\r\n` +
        `Authorization: APIKEY ${t.adminKey}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\n' +
        `Content-Length: ${form.length}\r\n\r\n${form}`;
      const socket = connect(Number(port), hostname);
      let text = '';
      const answers = (n: number) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (text.split('No task found.').length - 1 >= n) resolve();
          };
          socket.on('data', (chunk: Buffer) => {
            text += chunk.toString('latin1');
            check();
          });
          socket.once('error', reject);
          socket.once('close', () => reject(new Error(`closed after: ${text}`)));
          check();
        });
      try {
        socket.write(request + request); // pipelined: both in one packet
        await answers(2);
        socket.removeAllListeners();
        socket.write(request);
        await answers(3);
      } finally {
        socket.destroy();
      }
      const heads = text.match(/HTTP\/1\.1 [^]*?\r\n\r\n/g) ?? [];
      expect(heads).toHaveLength(3);
      for (const head of heads) {
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(head).toMatch(/\r\nConnection: keep-alive\r\n/);
      }
    });
  });
});

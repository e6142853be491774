/**
 * A completeTask upload written by hand over node:http, so a test controls the pace: send part of
 * the file, pause, stall, disconnect or finish, and read the response whenever it comes.
 */
import { request } from 'node:http';
import { keysOf, ClaimedTask, TASKS } from './agent-flow';
import { Envelope, TestServer } from './test-server';

const BOUNDARY = 'scanqueueRawUpload';

export const ZAP_HEAD =
  '<?xml version="1.0"?><OWASPZAPReport version="2.16.1"><site name="http://t.example"><alerts>';
export const ZAP_ITEM =
  '<alertitem><pluginid>10020</pluginid><name>X-Frame-Options Header Not Set</name><riskcode>2</riskcode></alertitem>\n';
export const ZAP_TAIL = '</alerts></site></OWASPZAPReport>';

export interface RawUpload {
  write(chunk: string | Buffer): Promise<void>;
  /** Ends the file part and the body, then waits for the answer. */
  finish(tail?: string): Promise<{ status: number; body: Envelope }>;
  /** Ends the body where it is, without closing the part: a body that breaks off. */
  breakOff(): Promise<{ status: number; body: Envelope }>;
  /** Resolves with the answer whenever it arrives (or rejects if the connection breaks). */
  response: Promise<{ status: number; body: Envelope }>;
  destroy(): void;
}

export function startRawUpload(
  t: TestServer,
  task: ClaimedTask,
  filename = 'ZAPRESULTS.xml',
): RawUpload {
  const req = request(`${t.baseUrl}${TASKS}/completeTask`, {
    method: 'POST',
    headers: {
      authorization: `APIKEY ${t.adminKey}`,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
    },
  });
  const response = new Promise<{ status: number; body: Envelope }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Envelope });
        } catch {
          reject(new Error(`Not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // callers that destroy the upload do not read it
  let head = '';
  for (const [name, value] of Object.entries(keysOf(task))) {
    head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/xml\r\n\r\n`;
  req.write(head);
  const write = (chunk: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      req.write(chunk, (error) => (error ? reject(error) : resolve())),
    );
  return {
    write,
    async finish(tail = '') {
      req.end(`${tail}\r\n--${BOUNDARY}--\r\n`);
      return response;
    },
    breakOff() {
      req.end();
      return response;
    },
    response,
    destroy: () => req.destroy(),
  };
}

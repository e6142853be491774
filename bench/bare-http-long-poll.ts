/**
 * Row 7b's floor below bare Fastify: Node's own http server, no framework, holding the same
 * fleet's long polls (run as its own process by bench/run.ts, so that its CPU is its own). POST
 * /long-poll reads the form, answers "No task found." after its waitSeconds (at most
 * LONG_POLL_MAX_SECONDS) from a timer, with scanqueue's pacing header; GET /metrics counts those
 * waiting as scanqueue's /metrics does; GET /health answers when it listens.
 * Env: PORT, LONG_POLL_MAX_SECONDS.
 */
import { createServer } from 'node:http';
import { parse } from 'node:querystring';

const NO_TASK_FOUND = JSON.stringify({
  message: 'No task found.',
  success: false,
  responseCode: -1,
  object: null,
});
const maxSeconds = Number(process.env.LONG_POLL_MAX_SECONDS ?? 30);
let waiting = 0;

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/long-poll') {
    const found = request.method === 'GET' && ['/metrics', '/health'].includes(request.url ?? '');
    response.writeHead(found ? 200 : 404, { 'content-type': 'text/plain' });
    if (!found) response.end('not found');
    else response.end(request.url === '/metrics' ? `scanqueue_poll_waiters ${waiting}\n` : 'ok');
    return;
  }
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (body += chunk));
  request.on('end', () => {
    const asked = Number(parse(body).waitSeconds) || 0;
    waiting++;
    // Unref'd: a poll still held must not keep the process alive after SIGTERM closed the server.
    setTimeout(
      () => {
        waiting--;
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'x-scanqueue-poll-interval': '0',
        });
        response.end(NO_TASK_FOUND);
      },
      Math.min(asked, maxSeconds) * 1000,
    ).unref();
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});

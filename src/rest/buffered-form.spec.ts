import fastifyMultipart from '@fastify/multipart';
import Fastify, { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { armBodyDeadline } from './body-deadline';
import { takeBufferedForm } from './buffered-form';

/**
 * A real Fastify server on a real socket, its hooks in scanqueue's order: an asynchronous
 * onRequest hook (@fastify/multipart's), then one that takes the form from the buffer (as the
 * lane's, src/edge/request-task-lane.ts); on /wait… a body deadline is armed before them.
 */
describe('takeBufferedForm', () => {
  let app: FastifyInstance;
  let port: number;
  const parsedByFastify: string[] = [];

  beforeAll(async () => {
    app = Fastify({ bodyLimit: 1000 });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (request, body, done) => {
        parsedByFastify.push(request.url);
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    // /wait…: a body deadline armed before the body came, an edge that waits (a key to look
    // up), and an answer later than the deadline (a long poll).
    const waits = (url: string) => url.startsWith('/wait');
    app.addHook('onRequest', (request, reply, done) => {
      if (waits(request.url)) armBodyDeadline(request, reply, 200);
      done();
    });
    app.addHook('onRequest', async (request) => {
      if (waits(request.url)) await sleep(60);
    });
    app.addHook('onRequest', (request, reply, done) => {
      const form = takeBufferedForm(request, 1000);
      if (form === undefined) return done();
      const answer = () => void reply.send({ from: 'buffer', form });
      if (waits(request.url)) setTimeout(answer, 400);
      else answer();
    });
    app.post('/*', async (request) => ({ from: 'fastify', form: request.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(() => app.close());

  /** Sends the request's head, then its body (in the same write, or `pauseMs` later), and reads the answer. */
  function post(
    path: string,
    body: string,
    { pauseMs = -1, type = 'application/x-www-form-urlencoded', chunked = false, to = port } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const head =
      `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${type}\r\n` +
      (chunked
        ? 'Transfer-Encoding: chunked\r\n\r\n'
        : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    const payload = chunked ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : body;
    return new Promise((resolve, reject) => {
      const socket = connect(to, '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        const [status, ...rest] = answer.split('\r\n\r\n');
        resolve({ status: Number(status.split(' ')[1]), json: JSON.parse(rest.join('\r\n\r\n')) });
      });
      if (pauseMs < 0) socket.write(head + payload);
      else {
        socket.write(head);
        setTimeout(() => socket.write(payload), pauseMs);
      }
    });
  }

  it('takes a form that came with its headers, parsed as Nest parses one', async () => {
    const res = await post('/one', 'scanners=zap&scanners=burp&key=%C3%A9+x%FF&empty=');
    expect(res).toEqual({
      status: 200,
      // fast-querystring keeps a value it cannot decode as it came
      json: { from: 'buffer', form: { scanners: ['zap', 'burp'], key: '%C3%A9 x%FF', empty: '' } },
    });
    expect((await post('/two', 'key=%C3%A9+x')).json).toEqual({
      from: 'buffer',
      form: { key: 'é x' },
    });
    expect(parsedByFastify).not.toContain('/one');
  });

  it('leaves a body still arriving to Fastify, which reads all of it', async () => {
    const res = await post('/late', 'scanners=zap&key=k', { pauseMs: 50 });
    expect(res).toEqual({
      status: 200,
      json: { from: 'fastify', form: { scanners: 'zap', key: 'k' } },
    });
    expect(parsedByFastify).toContain('/late');
  });

  it('leaves other types, chunked bodies and bodies over the limit to Fastify', async () => {
    const json = await post('/json', '{"a":1}', { type: 'application/json' });
    expect(json.json).toEqual({ from: 'fastify', form: { a: 1 } });
    const chunked = await post('/chunked', 'a=1', { chunked: true });
    expect(chunked.json).toEqual({ from: 'fastify', form: { a: '1' } });
    const big = await post('/big', `a=${'x'.repeat(1000)}`);
    expect(big.status).toBe(413);
    const atLimit = await post('/limit', `a=${'x'.repeat(998)}`);
    expect(atLimit.json.from).toBe('buffer');
    expect((await post('/none', '')).json.from).toBe('fastify');
    expect(parsedByFastify).not.toContain('/json');
  });

  it("puts back a form with a __proto__ field for Fastify's parser (Nest's refuses it)", async () => {
    const res = await post('/proto', '__proto__=x&a=1');
    expect(res.json).toEqual({ from: 'fastify', form: JSON.parse('{"__proto__":"x","a":"1"}') });
    expect(parsedByFastify).toContain('/proto');
  });

  it('releases the body deadline armed before the body came: a long poll is no slow body', async () => {
    const res = await post('/wait', 'scanners=zap', { pauseMs: 10 });
    expect(res).toEqual({ status: 200, json: { from: 'buffer', form: { scanners: 'zap' } } });
  });

  // The spec's own asynchronous hook stands in for @fastify/multipart's above. This one pins the
  // real plugin's: were its onRequest hook to turn synchronous, the lane would quietly stop
  // taking forms from the buffer (slower polls, the same answers), and only this would fail.
  it("takes the form in a hook after @fastify/multipart's, as the app registers them", async () => {
    const withMultipart = Fastify({ bodyLimit: 1000 });
    try {
      await withMultipart.register(fastifyMultipart);
      withMultipart.addHook('onRequest', (request, reply, done) => {
        const form = takeBufferedForm(request, 1000);
        if (form === undefined) return done();
        void reply.send({ from: 'buffer', form });
      });
      withMultipart.post('/*', async (request) => ({ from: 'fastify', form: request.body }));
      await withMultipart.listen({ port: 0, host: '127.0.0.1' });
      const to = (withMultipart.server.address() as { port: number }).port;
      expect((await post('/poll', 'scanners=zap', { to })).json).toEqual({
        from: 'buffer',
        form: { scanners: 'zap' },
      });
    } finally {
      await withMultipart.close();
    }
  });
});

import { Writable } from 'node:stream';
import { createRootLogger, NestPinoLogger } from './logger';

/** A root logger at `level` writing into an array of parsed lines. */
function capture(level: 'log' | 'verbose' | 'warn' = 'verbose') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  const root = createRootLogger({ level, instance: 'unit', destination });
  return { root, nest: new NestPinoLogger(root), lines };
}

describe('createRootLogger', () => {
  it('writes one JSON object per line with an upper-case level, ISO time and the instance', () => {
    const { root, lines } = capture();
    root.info('hello');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        instance: 'unit',
        msg: 'hello',
      }),
    ]);
  });

  it('maps Nest levels onto pino levels (log = info, verbose = trace)', () => {
    const atLog = capture('log');
    atLog.nest.debug('hidden');
    atLog.nest.log('shown');
    expect(atLog.lines.map((line) => [line.level, line.msg])).toEqual([['INFO', 'shown']]);
    const atVerbose = capture('verbose');
    atVerbose.nest.verbose('very');
    expect(atVerbose.lines.map((line) => line.level)).toEqual(['TRACE']);
  });

  it('never writes a request header or a key in a URL', () => {
    const { root, lines } = capture();
    root.info(
      {
        req: {
          method: 'GET',
          url: '/t?apiKey=SECRET1',
          headers: { authorization: 'APIKEY SECRET2' },
          routeOptions: { url: '/t' },
        },
      },
      'r',
    );
    root.info({ headers: { authorization: 'APIKEY SECRET3' } }, 'raw');
    root.trace(
      { busboyOptions: { headers: { authorization: 'APIKEY SECRET4', cookie: 'S=SECRET5' } } },
      'multipart',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/SECRET/);
    expect(lines[0].req).toEqual({ method: 'GET', url: '/t?apiKey=[REDACTED]', route: '/t' });
    expect(lines[1].headers).toEqual({ authorization: '[REDACTED]' });
    expect(lines[2].busboyOptions).toEqual({
      headers: { authorization: '[REDACTED]', cookie: '[REDACTED]' },
    });
  });

  it('logs an error as type, message, code and stack only', () => {
    const { root, lines } = capture();
    const error = Object.assign(new TypeError('bad'), { code: 'E1', parameters: ['SECRET'] });
    root.error({ err: error }, 'failed');
    expect(lines[0].err).toEqual({
      type: 'TypeError',
      message: 'bad',
      code: 'E1',
      stack: expect.stringContaining('TypeError: bad'),
    });
  });
});

describe('NestPinoLogger', () => {
  it("takes Nest Logger's trailing context, and a stack before it for errors", () => {
    const { nest, lines } = capture();
    const stack = new Error('boom').stack as string;
    nest.log('started', 'NestFactory');
    nest.warn('careful', 'ScansService');
    nest.error('failed', stack, 'TaskReaperService');
    nest.error('failed without stack', undefined, 'TaskReaperService');
    nest.error('failed, no context', stack);
    nest.log('no context');
    expect(lines.map(({ level, context, msg, stack: s }) => ({ level, context, msg, s }))).toEqual([
      { level: 'INFO', context: 'NestFactory', msg: 'started', s: undefined },
      { level: 'WARN', context: 'ScansService', msg: 'careful', s: undefined },
      { level: 'ERROR', context: 'TaskReaperService', msg: 'failed', s: stack },
      {
        level: 'ERROR',
        context: 'TaskReaperService',
        msg: 'failed without stack',
        s: undefined,
      },
      { level: 'ERROR', context: undefined, msg: 'failed, no context', s: stack },
      { level: 'INFO', context: undefined, msg: 'no context', s: undefined },
    ]);
  });

  it('logs an Error message with its serialized error, and plain objects as fields', () => {
    const { nest, lines } = capture();
    nest.error(new RangeError('out of range'), 'ExceptionsHandler');
    nest.log({ msg: 'structured', count: 3 }, 'Ctx');
    nest.log('with fields', { taskId: 7 }, 'Ctx');
    expect(lines[0]).toMatchObject({
      level: 'ERROR',
      context: 'ExceptionsHandler',
      msg: 'out of range',
      err: { type: 'RangeError', message: 'out of range' },
    });
    expect(lines[1]).toMatchObject({ msg: 'structured', count: 3, context: 'Ctx' });
    expect(lines[2]).toMatchObject({ msg: 'with fields', taskId: 7, context: 'Ctx' });
  });
});

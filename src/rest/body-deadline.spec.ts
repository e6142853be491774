import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { armBodyDeadline, bodyTimedOut } from './body-deadline';

/** A request whose raw stream has `buffered` of its `length` body bytes in its buffer. */
function requestWith(length: number, buffered: number) {
  const raw = Object.assign(new EventEmitter(), {
    readableLength: buffered,
    readableEnded: false,
    destroyed: false,
    destroy() {
      raw.destroyed = true;
    },
  });
  const request = {
    raw,
    headers: { 'content-length': String(length) },
  } as unknown as FastifyRequest;
  const reply = { sent: true } as unknown as FastifyReply;
  return { raw, request, reply };
}

describe('armBodyDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps no timer for a body that is all in the buffer already', () => {
    const { request, reply } = requestWith(72, 72);
    armBodyDeadline(request, reply, 1000);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(bodyTimedOut(request)).toBe(false);
  });

  it('times out a body still on its way, and forgets one that arrived', () => {
    const late = requestWith(72, 71);
    armBodyDeadline(late.request, late.reply, 1000);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(bodyTimedOut(late.request)).toBe(true);
    expect(late.raw.destroyed).toBe(true); // refused already: the trickle is cut off

    const arriving = requestWith(72, 0);
    armBodyDeadline(arriving.request, arriving.reply, 1000);
    expect(jest.getTimerCount()).toBe(1);
    arriving.raw.emit('end');
    expect(jest.getTimerCount()).toBe(0);
  });
});

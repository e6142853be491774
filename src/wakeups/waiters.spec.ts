import { EventEmitter } from 'node:events';
import { departureOnClose, Wait, Waiters, WakeOutcome } from './waiters';

const ZAP = 'OWASP Zed Attack Proxy';
const BURP = 'Burp Suite Pro';

/** Outcomes so far, in resolution order, of the given waits. */
function watch(waits: Promise<WakeOutcome>[]) {
  const ended: { index: number; outcome: WakeOutcome }[] = [];
  waits.forEach((wait, index) => void wait.then((outcome) => ended.push({ index, outcome })));
  return ended;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** An agent's connection, as the controller's departure sees a response: 'close' once. */
function agentConnection() {
  const response = new EventEmitter();
  let closed = false;
  return {
    departure: departureOnClose(response, () => closed),
    close: () => ((closed = true), response.emit('close')),
    listeners: () => response.listenerCount('close'),
  };
}

describe('Waiters', () => {
  it('wakes one waiter per notification, the longest waiting first', async () => {
    const waiters = new Waiters(1000);
    const waits = Array.from({ length: 5 }, () => waiters.register([ZAP], 60_000).outcome);
    const ended = watch(waits);
    expect(waiters.wakeOne(ZAP)).toBe(true);
    expect(waiters.wakeOne(ZAP)).toBe(true);
    await flush();
    expect(ended).toEqual([
      { index: 0, outcome: 'woken' },
      { index: 1, outcome: 'woken' },
    ]);
    expect(waiters.size).toBe(3);
    expect(waiters.wakeOne(BURP)).toBe(false);
    waiters.shutdown();
  });

  it('a waiter of several scanners is woken once, by any of them', async () => {
    const waiters = new Waiters(1000);
    const both = waiters.register([ZAP, BURP, ZAP], 60_000);
    const burpOnly = waiters.register([BURP], 60_000);
    const ended = watch([both.outcome, burpOnly.outcome]);
    waiters.wakeOne(ZAP);
    waiters.wakeOne(BURP);
    await flush();
    expect(ended).toEqual([
      { index: 0, outcome: 'woken' },
      { index: 1, outcome: 'woken' },
    ]);
    expect(waiters.size).toBe(0);
    expect(waiters.wakeOne(ZAP)).toBe(false);
  });

  it('times out, ends when its agent departs, and refuses beyond the cap', async () => {
    const outcomes: WakeOutcome[] = [];
    const waiters = new Waiters(2, { ended: (outcome) => outcomes.push(outcome) });
    const connection = agentConnection();
    const timed = waiters.register([ZAP], 5, agentConnection().departure);
    const aborted = waiters.register([ZAP], 60_000, connection.departure);
    expect(await waiters.register([ZAP], 60_000).outcome).toBe('busy');
    connection.close();
    expect(await aborted.outcome).toBe('aborted');
    expect(await timed.outcome).toBe('timeout');
    expect(waiters.size).toBe(0);
    expect(outcomes).toEqual(['busy', 'aborted', 'timeout']);
    // Nothing left to wake: the timed-out and aborted waiters are gone from the queues.
    expect(waiters.wakeOne(ZAP)).toBe(false);
  });

  it('listens for its agent only while it waits; an agent already gone is refused', async () => {
    const waiters = new Waiters(10);
    const connection = agentConnection();
    for (const end of [
      (w: Wait) => expect(w.outcome).resolves.toBe('timeout'),
      (w: Wait) => (waiters.wakeOne(ZAP), expect(w.outcome).resolves.toBe('woken')),
      (w: Wait) => (w.settle('claimed'), expect(w.outcome).resolves.toBe('withdrawn')),
    ]) {
      const wait = waiters.register([ZAP], 5, connection.departure);
      expect(connection.listeners()).toBe(1);
      await end(wait);
      expect(connection.listeners()).toBe(0);
    }
    connection.close();
    const late = waiters.register([ZAP], 60_000, connection.departure);
    expect(await late.outcome).toBe('aborted');
    expect(connection.listeners()).toBe(0);
    expect(waiters.size).toBe(0);
  });

  it('a woken waiter that claimed a task hands the wake on; one that found none does not', async () => {
    const waiters = new Waiters(1000);
    const first = waiters.register([ZAP], 60_000);
    const second = waiters.register([ZAP], 60_000);
    const third = waiters.register([ZAP], 60_000);
    const ended = watch([first.outcome, second.outcome, third.outcome]);
    waiters.wakeOne(ZAP);
    await flush();
    first.settle('claimed'); // it got a task: maybe not the one announced
    await flush();
    expect(ended.map((e) => e.index)).toEqual([0, 1]);
    second.settle('empty'); // the announced task was taken elsewhere: no herd
    await flush();
    expect(ended.map((e) => e.index)).toEqual([0, 1]);
    third.settle('empty'); // withdrawn while pending
    expect(waiters.size).toBe(0);
    expect(await third.outcome).toBe('withdrawn');
  });

  it('a woken waiter whose agent went away hands the wake on', async () => {
    const waiters = new Waiters(1000);
    const gone = waiters.register([ZAP], 60_000);
    const next = waiters.register([ZAP], 60_000);
    waiters.wakeOne(ZAP);
    expect(await gone.outcome).toBe('woken');
    gone.settle('skipped');
    expect(await next.outcome).toBe('woken');
    // Settling twice hands on nothing more.
    gone.settle('skipped');
    expect(waiters.size).toBe(0);
  });

  it('wakeAll wakes everyone; shutdown answers everyone and refuses new waits', async () => {
    const waiters = new Waiters(1000);
    const a = waiters.register([ZAP], 60_000).outcome;
    const b = waiters.register([BURP, ZAP], 60_000).outcome;
    expect(waiters.wakeAll()).toBe(2);
    expect(await Promise.all([a, b])).toEqual(['woken', 'woken']);
    const c = waiters.register([ZAP], 60_000).outcome;
    expect(waiters.shutdown()).toBe(1);
    expect(await c).toBe('shutdown');
    expect(await waiters.register([ZAP], 60_000).outcome).toBe('shutdown');
    expect(waiters.size).toBe(0);
  });

  describe('long waits end on a shared beat', () => {
    // Fake timers start performance.now() at 0: from 30 ms, beats fall at 10,000, 10,100 ... ms.
    beforeEach(() => {
      jest.useFakeTimers();
      jest.advanceTimersByTime(30);
    });
    afterEach(() => jest.useRealTimers());

    it('at the last beat (a tenth of a second) at or before each deadline, with one timer for all', async () => {
      const waiters = new Waiters(1000);
      // Deadlines 10,030 / 10,099 / 10,100 / 10,250: beats 10,000 / 10,000 / 10,100 / 10,200.
      const waits = [10_000, 10_069, 10_070, 10_220].map((ms) => waiters.register([ZAP], ms));
      const ended = watch(waits.map((wait) => wait.outcome));
      expect(jest.getTimerCount()).toBe(1);
      await jest.advanceTimersByTimeAsync(9_969); // 9,999
      expect(ended).toEqual([]);
      await jest.advanceTimersByTimeAsync(1); // 10,000: 30 and 99 ms early, never late
      expect(ended.map((e) => e.index)).toEqual([0, 1]);
      await jest.advanceTimersByTimeAsync(100);
      expect(ended.map((e) => e.index)).toEqual([0, 1, 2]);
      expect(ended.map((e) => e.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
      expect(waiters.size).toBe(1);
      // Woken before its beat: it leaves the beat, and the timer goes with the last long wait.
      expect(waiters.wakeOne(ZAP)).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(ended.map((e) => e.outcome)).toEqual(['timeout', 'timeout', 'timeout', 'woken']);
    });

    it('a shorter wait after a longer one ends on its own, earlier beat; short waits keep their own timer', async () => {
      const waiters = new Waiters(1000);
      const long = waiters.register([ZAP], 60_000).outcome;
      const shorter = waiters.register([ZAP], 20_000).outcome;
      const short = waiters.register([BURP], 9_999).outcome; // its own timer: exact
      const ended = watch([long, shorter, short]);
      expect(jest.getTimerCount()).toBe(2); // the beat's and the short wait's
      await jest.advanceTimersByTimeAsync(9_998);
      expect(ended).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(ended).toEqual([{ index: 2, outcome: 'timeout' }]); // to the millisecond
      await jest.advanceTimersByTimeAsync(20_000 - 9_999 - 31); // 19,999: beat 20,000 not yet
      expect(ended.map((e) => e.index)).toEqual([2]);
      await jest.advanceTimersByTimeAsync(1);
      expect(ended.map((e) => e.index)).toEqual([2, 1]);
      await jest.advanceTimersByTimeAsync(40_000);
      expect(ended.map((e) => e.index)).toEqual([2, 1, 0]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('the wall clock set back or forward moves no beat', async () => {
      const waiters = new Waiters(1000);
      const ended = watch([waiters.register([ZAP], 30_000).outcome]);
      jest.setSystemTime(Date.now() - 3_600_000);
      await jest.advanceTimersByTimeAsync(29_970); // 30,000: its beat
      expect(ended).toEqual([{ index: 0, outcome: 'timeout' }]);
      const later = watch([waiters.register([ZAP], 30_000).outcome]);
      jest.setSystemTime(Date.now() + 7_200_000);
      await jest.advanceTimersByTimeAsync(29_900);
      expect(later).toEqual([]);
      await jest.advanceTimersByTimeAsync(100); // 60,000: its beat
      expect(later).toEqual([{ index: 0, outcome: 'timeout' }]);
    });
  });
});

import { PeriodicLoop } from './periodic-loop';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PeriodicLoop', () => {
  it('runs a round at start, again at once while there is more work, then waits the interval', async () => {
    const more = [true, true, false, false];
    let rounds = 0;
    const loop = new PeriodicLoop(
      async () => {
        rounds++;
        return more.shift() ?? false;
      },
      { name: 'test', logger: console, intervalMs: 60_000 },
    );
    loop.start();
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(3);
    loop.poke();
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(4);
    await loop.stop();
    expect(loop.isStopped).toBe(true);
  });

  it('stop() cuts the wait short and waits for the round in progress', async () => {
    let release!: () => void;
    let finished = false;
    const loop = new PeriodicLoop(
      async () => {
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
      { name: 'test', logger: console, intervalMs: 60_000 },
    );
    loop.start();
    await tick();
    const stopping = loop.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await tick();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    const started = Date.now();
    await loop.sleep(60_000); // a stopped loop never waits
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('reports failed rounds with their count in a row and retries after the failure delay', async () => {
    const failures: number[] = [];
    const delays: number[] = [];
    let rounds = 0;
    const loop = new PeriodicLoop(
      async () => {
        rounds++;
        if (rounds <= 3) throw new Error(`boom ${rounds}`);
        return false;
      },
      {
        name: 'test',
        logger: console,
        intervalMs: 60_000,
        failureDelayMs: (n) => {
          delays.push(n);
          return 1;
        },
        onFailure: (error, n) => {
          expect(String(error)).toContain(`boom ${n}`);
          failures.push(n);
        },
      },
    );
    loop.start();
    const deadline = Date.now() + 2_000;
    while (rounds < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await loop.stop();
    expect(failures).toEqual([1, 2, 3]);
    expect(delays).toEqual([1, 2, 3]);
    expect(rounds).toBe(4);
  });

  it('with runAtStart false, waits one interval before the first round', async () => {
    let rounds = 0;
    const loop = new PeriodicLoop(
      async () => {
        rounds++;
      },
      { name: 'test', logger: console, intervalMs: 60_000, runAtStart: false },
    );
    loop.start();
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(0);
    loop.poke();
    for (let i = 0; i < 10; i++) await tick();
    expect(rounds).toBe(1);
    await loop.stop();
  });
});

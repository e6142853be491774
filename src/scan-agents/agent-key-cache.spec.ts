import { AgentKeyCache } from './agent-key-cache';

describe('AgentKeyCache', () => {
  let now = 1_000_000;
  const clock = () => now;
  const agent = (agentId: number, apiKeyId = 1) => ({ agentId, apiKeyId, paused: false });

  it('keeps an agent for its TTL, then forgets it', () => {
    const cache = new AgentKeyCache(2000, 10, clock);
    cache.set('a', agent(1));
    now += 1999;
    expect(cache.get('a')).toMatchObject({ agentId: 1, apiKeyId: 1 });
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is bounded: the oldest entry not used since it was passed over goes first', () => {
    const cache = new AgentKeyCache(60_000, 2, clock);
    cache.set('a', agent(1));
    cache.set('b', agent(2));
    expect(cache.get('a')?.agentId).toBe(1); // a is used: b goes, not a
    cache.set('c', agent(3));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.agentId).toBe(1);
    expect(cache.get('c')?.agentId).toBe(3);
    // All used (a and c, just now): each is passed over once, and the oldest then goes.
    cache.set('d', agent(4));
    expect([cache.get('a'), cache.size]).toEqual([undefined, 2]);
    expect(cache.get('c')?.agentId).toBe(3);
    // c was unmarked when passed over, then used again above; d, never used, goes next.
    cache.set('e', agent(5));
    expect([cache.get('d'), cache.get('c')?.agentId, cache.get('e')?.agentId]).toEqual([
      undefined,
      3,
      5,
    ]);
  });

  it('is a clock, not a strict LRU: a hit does not reorder, the oldest of the used goes', () => {
    const cache = new AgentKeyCache(60_000, 2, clock);
    cache.set('a', agent(1));
    cache.set('b', agent(2));
    cache.get('b');
    cache.get('a'); // a strict LRU would now keep a and drop b
    cache.set('c', agent(3));
    expect([cache.get('a'), cache.get('b')?.agentId]).toEqual([undefined, 2]);
  });

  it("forgets an agent, or an API key's agents; TTL 0 keeps nothing", () => {
    const cache = new AgentKeyCache(60_000, 10, clock);
    cache.set('a', agent(1, 7));
    cache.set('b', agent(2, 7));
    cache.set('c', agent(3, 8));
    cache.forget((known) => known.agentId === 3);
    expect(cache.get('c')).toBeUndefined();
    cache.forget((known) => known.apiKeyId === 7);
    expect(cache.size).toBe(0);
    const none = new AgentKeyCache(0, 10, clock);
    none.set('a', agent(1));
    expect(none.get('a')).toBeUndefined();
  });

  it('forgets one agent by its id, and everything on clear; a TTL per entry', () => {
    const cache = new AgentKeyCache(1000, 10, clock);
    cache.set('a', agent(1));
    cache.set('b', agent(2), 60_000);
    cache.forgetAgent(1);
    cache.forgetAgent(99); // not cached: nothing happens
    expect(cache.get('a')).toBeUndefined();
    now += 30_000;
    expect(cache.get('b')?.agentId).toBe(2); // its own, longer TTL
    cache.set('a', agent(1));
    cache.clear();
    expect([cache.get('a'), cache.get('b'), cache.size]).toEqual([undefined, undefined, 0]);
    // An entry pushed out by the bound no longer answers for its agent.
    const small = new AgentKeyCache(60_000, 1, clock);
    small.set('a', agent(1));
    small.set('b', agent(2));
    small.forgetAgent(1);
    expect(small.get('b')?.agentId).toBe(2);
  });
});

import { EmptyQueues } from './empty-queues';

const ZAP = 'OWASP Zed Attack Proxy';
const BURP = 'Burp Suite Pro';

describe('EmptyQueues', () => {
  let now = 1_000_000;
  const clock = () => now;
  const connected = (maxAgeMs = 5000) => {
    const empty = new EmptyQueues(maxAgeMs, clock);
    empty.setConnected(true);
    return empty;
  };

  it('knows a scanner empty after an empty claim, until a notification for it', () => {
    const empty = connected();
    const snapshot = empty.snapshot();
    empty.markEmpty([ZAP, BURP], snapshot);
    expect(empty.knownEmpty([ZAP])).toBe(true);
    expect(empty.knownEmpty([ZAP, BURP])).toBe(true);
    empty.notified(ZAP);
    expect(empty.knownEmpty([ZAP])).toBe(false);
    expect(empty.knownEmpty([ZAP, BURP])).toBe(false);
    expect(empty.knownEmpty([BURP])).toBe(true);
    expect(empty.knownEmpty([])).toBe(false);
  });

  it('refuses a mark when a notification came during the claim', () => {
    const empty = connected();
    const snapshot = empty.snapshot();
    empty.notified(ZAP); // committed while the claim ran: the claim may have missed it
    empty.markEmpty([ZAP, BURP], snapshot);
    expect(empty.knownEmpty([ZAP])).toBe(false);
    expect(empty.knownEmpty([BURP])).toBe(true);
  });

  it('a mark expires after its max age', () => {
    const empty = connected(5000);
    empty.markEmpty([ZAP], empty.snapshot());
    now += 4999;
    expect(empty.knownEmpty([ZAP])).toBe(true);
    now += 2;
    expect(empty.knownEmpty([ZAP])).toBe(false);
  });

  it('knows nothing while disconnected, nor from a claim that began before a reconnect', () => {
    const empty = new EmptyQueues(5000, clock);
    empty.markEmpty([ZAP], empty.snapshot());
    expect(empty.knownEmpty([ZAP])).toBe(false);
    empty.setConnected(true);
    const snapshot = empty.snapshot();
    empty.setConnected(false);
    empty.setConnected(true);
    empty.markEmpty([ZAP], snapshot);
    expect(empty.knownEmpty([ZAP])).toBe(false);
    empty.markEmpty([ZAP], empty.snapshot());
    expect(empty.knownEmpty([ZAP])).toBe(true);
    empty.setConnected(false);
    expect(empty.knownEmpty([ZAP])).toBe(false);
  });

  it('forget clears some scanners or all, and max age 0 disables the marks', () => {
    const empty = connected();
    empty.markEmpty([ZAP, BURP], empty.snapshot());
    empty.forget([BURP]);
    expect(empty.knownEmpty([ZAP])).toBe(true);
    expect(empty.knownEmpty([BURP])).toBe(false);
    const snapshot = empty.snapshot();
    empty.forget();
    expect(empty.knownEmpty([ZAP])).toBe(false);
    empty.markEmpty([ZAP], snapshot);
    expect(empty.knownEmpty([ZAP])).toBe(false);

    const never = connected(0);
    never.markEmpty([ZAP], never.snapshot());
    expect(never.knownEmpty([ZAP])).toBe(false);
  });

  it("a team-limited key's empty claim answers only for its own teams; every team's for all", () => {
    const empty = connected();
    empty.markEmpty([ZAP], empty.snapshot(), '1,2');
    expect(empty.knownEmpty([ZAP], '1,2')).toBe(true);
    expect(empty.knownEmpty([ZAP], '3')).toBe(false);
    expect(empty.knownEmpty([ZAP])).toBe(false); // other teams' tasks may wait
    empty.markEmpty([ZAP], empty.snapshot());
    expect(empty.knownEmpty([ZAP], '3')).toBe(true);
    empty.notified(ZAP);
    expect(empty.knownEmpty([ZAP], '1,2')).toBe(false);
    expect(empty.knownEmpty([ZAP])).toBe(false);
  });

  it("a delayed task's due time voids the marks of its scanner, with no timer", () => {
    const empty = connected(60_000);
    empty.delayed(ZAP, now + 2000);
    empty.delayed(ZAP, now + 1000); // out of order: the earlier counts first
    empty.markEmpty([ZAP, BURP], empty.snapshot()); // a claim before they are due finds nothing
    now += 999;
    expect(empty.knownEmpty([ZAP])).toBe(true);
    now += 1;
    expect(empty.knownEmpty([ZAP])).toBe(false); // the first is due
    expect(empty.knownEmpty([BURP])).toBe(true);
    empty.markEmpty([ZAP], empty.snapshot()); // claimed it; nothing else yet
    expect(empty.knownEmpty([ZAP])).toBe(true);
    now += 1000;
    expect(empty.knownEmpty([ZAP, BURP])).toBe(false); // the second is due
    empty.markEmpty([ZAP], empty.snapshot());
    now += 10_000;
    expect(empty.knownEmpty([ZAP])).toBe(true); // none left
  });
});

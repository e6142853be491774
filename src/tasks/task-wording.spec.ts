import { badScannerType, failureReason } from './task-wording';

describe('failureReason', () => {
  it('keeps a reason within the bound as it is', () => {
    expect(failureReason('disk full', 20)).toBe('disk full');
    expect(failureReason('x'.repeat(20), 20)).toBe('x'.repeat(20));
  });

  it('cuts a longer one, saying how much was cut, never inside a surrogate pair', () => {
    expect(failureReason('abcdefghij', 4)).toBe('abcd [… 6 more characters cut]');
    // 'a' then '😀' (two UTF-16 units): a cut at 2 would split the pair.
    expect(failureReason('a😀bcd', 2)).toBe('a [… 5 more characters cut]');
  });
});

describe('badScannerType', () => {
  it("keeps ThreadFix's wording and names the scanners agents run", () => {
    const error = badScannerType('nessus', ' Will not save scan config.');
    expect(error.message).toMatch(
      /^Bad scanner type of: nessus provided\. Will not save scan config\. Scan agents run: .*zap \(OWASP Zed Attack Proxy\)/,
    );
  });
});

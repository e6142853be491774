import { hasHtmlCharacters, nameCandidates, rawQueryValue } from './custom-names';

describe('hasHtmlCharacters (what escapeHtml4 would change)', () => {
  it.each(['<', '>', '&', '"', 'é', 'ü', '\u00a0', '©', '–', '€', '™', 'α', 'Ω', '→', '♥'])(
    'refuses %j',
    (char) => expect(hasHtmlCharacters(`Team ${char} A`)).toBe(true),
  );

  it.each([
    "O'Brien",
    'Team A+B',
    'R&D'.replace('&', 'and'),
    '团队',
    'Команда',
    'ϕ',
    '😀',
    'a/b?c',
  ])('accepts %j', (name) => expect(hasHtmlCharacters(name)).toBe(false));
});

describe('nameCandidates', () => {
  it('tries the decoded value, then the raw value with `+` kept, then `+` read as a space', () => {
    // The vendor client pastes "C+B" raw: a standard parser decodes "C B".
    expect(nameCandidates('C B', 'C+B')).toEqual(['C B', 'C+B']);
    // A path segment keeps its `+`: ThreadFix's retry reads it as a space.
    expect(nameCandidates('My+Team')).toEqual(['My+Team', 'My Team']);
    expect(nameCandidates('Team A', 'Team%20A')).toEqual(['Team A']);
    expect(nameCandidates('a b+c', 'a+b%2Bc')).toEqual(['a b+c', 'a+b+c', 'a b c']);
  });

  it('ignores a raw value that does not decode', () => {
    expect(nameCandidates('x', 'x+%E0%A4%A')).toEqual(['x']);
  });
});

describe('rawQueryValue', () => {
  it('returns the first value of the parameter as it was sent', () => {
    expect(rawQueryValue('/rest/teams/lookup?name=C+B&name=x', 'name')).toBe('C+B');
    expect(rawQueryValue('/rest/teams/lookup?apiKey=k&n%61me=Team%20A', 'name')).toBe('Team%20A');
    expect(rawQueryValue('/rest/teams/lookup?name', 'name')).toBe('');
    expect(rawQueryValue('/rest/teams/lookup', 'name')).toBeUndefined();
    expect(rawQueryValue('/rest/teams/lookup?other=1', 'name')).toBeUndefined();
  });
});

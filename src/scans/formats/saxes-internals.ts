/**
 * The one place that reads saxes' private state. saxes keeps a CDATA section, a comment, and a text
 * node while a text handler is set, whole in its `text` buffer until the token ends, which may be
 * megabytes later; its public API has no way to take part of it. SafeXmlReader takes that buffer
 * after every slice it feeds (see takeCharacterData), so what saxes holds never outgrows a slice.
 *
 * Nothing here hard-codes saxes' state numbers: they are learnt at load by parsing small probe
 * documents, and each probe's outcome is checked, so an upgrade that changes any of this throws at
 * load (and in saxes-internals.spec.ts) instead of silently buffering again. saxes is pinned to an
 * exact version in package.json all the same.
 */
import { SaxesParser } from 'saxes';

/** The private fields of a SaxesParser this module reads (and, for `text`, clears). */
interface SaxesPrivate {
  state: number;
  /** The pending content of the current token. */
  text: string;
  /** In an entity reference: the state it returns to (text content, an attribute value...). */
  entityReturnState: number | undefined;
  /** Name being read: an entity reference's, an element's or attribute's, a PI target's. */
  entity: string;
  name: string;
  piTarget: string;
  /** Text content only: how far a `]]>` has got (`]` or `]]` just read), as a state number. */
  forbiddenState: number;
  /** A CR or high surrogate ending the last write, kept for the next. */
  carriedFromPrevious: string | undefined;
  /** The root element has ended. */
  closedRoot: boolean;
  /** Where errors are reported (public, but typed readonly). */
  line: number;
  column: number;
}

function internals(parser: SaxesParser): SaxesPrivate {
  return parser as unknown as SaxesPrivate;
}

/** The state saxes is in after `xml` (with a text handler set if `withText`), checked against `expected`. */
function probe(xml: string, withText: boolean, expected: Partial<SaxesPrivate>): SaxesPrivate {
  const parser = new SaxesParser({ xmlns: false });
  if (withText) parser.on('text', () => undefined);
  parser.write(xml);
  const s = internals(parser);
  if (typeof s.state !== 'number') throw new SaxesInternalsChanged(`state after ${xml}`);
  for (const [field, value] of Object.entries(expected)) {
    if (s[field as keyof SaxesPrivate] !== value)
      throw new SaxesInternalsChanged(`${field} after ${JSON.stringify(xml)}`);
  }
  return s;
}

export class SaxesInternalsChanged extends Error {
  constructor(what: string) {
    super(`saxes internals changed (${what}); review src/scans/formats/saxes-internals.ts`);
    this.name = 'SaxesInternalsChanged';
  }
}

const NAMES = { entity: '', name: '', piTarget: '' };
/** Text content (buffered only while a text handler is set). */
const TEXT = probe('<r>x', true, { text: 'x', ...NAMES }).state;
/** An entity reference inside text content: `text` holds the text before the `&`. */
const ENTITY = probe('<r>x&am', true, { text: 'x', entity: 'am', entityReturnState: TEXT }).state;
/** A CDATA section, and its states after one and two `]`. */
const CDATA_STATES = new Set([
  probe('<r><![CDATA[x', false, { text: 'x' }).state,
  probe('<r><![CDATA[x]', false, { text: 'x' }).state,
  probe('<r><![CDATA[x]]', false, { text: 'x' }).state,
]);
/** A comment, and its states after one and two `-`. */
const COMMENT_STATES = new Set([
  probe('<r><!--x', false, { text: 'x' }).state,
  probe('<r><!--x-', false, { text: 'x' }).state,
  probe('<r><!--x--', false, {}).state,
]);
// The names saxes accumulates, where the probes above expect them.
probe('<ab', false, { name: 'ab' });
probe('<r ab', false, { name: 'ab' });
probe('<?ab', false, { piTarget: 'ab' });
probe('<r a="x', false, { text: 'x', name: 'a' });
/** forbiddenState after no, one and two `]` at the end of text content, in that order. */
const TEXT_BRACKETS = [
  probe('<r>x', false, { state: TEXT }).forbiddenState,
  probe('<r>x]', false, { state: TEXT }).forbiddenState,
  probe('<r>x]]', false, { state: TEXT }).forbiddenState,
];
if (new Set(TEXT_BRACKETS).size !== 3) throw new SaxesInternalsChanged('forbiddenState');
if (probe('<r/>', false, {}).closedRoot !== true || probe('<r>', false, {}).closedRoot !== false)
  throw new SaxesInternalsChanged('closedRoot');
{
  // A CR at the end of a write waits for the next (it may start a CRLF).
  const s = probe('<r>x\r', false, { state: TEXT });
  if (s.carriedFromPrevious !== '\r') throw new SaxesInternalsChanged('carriedFromPrevious');
}
if (CDATA_STATES.size !== 3 || COMMENT_STATES.size !== 3 || TEXT === ENTITY)
  throw new SaxesInternalsChanged('states are not distinct');

/** Read access to what a SaxesParser is holding between two events. */
export class SaxesBuffers {
  private readonly s: SaxesPrivate;

  constructor(parser: SaxesParser) {
    this.s = internals(parser);
  }

  /**
   * Takes what saxes holds of the current text node or CDATA section (the caller may keep it as the
   * start of that text; saxes' later event delivers the rest), and drops a comment's. Returns '' when
   * saxes is inside another kind of token, whose content it must keep whole.
   */
  takeCharacterData(): string {
    const s = this.s;
    const text = s.text;
    if (text.length === 0) return '';
    const state = s.state;
    if (
      state === TEXT ||
      (state === ENTITY && s.entityReturnState === TEXT) ||
      CDATA_STATES.has(state)
    ) {
      s.text = '';
      return text;
    }
    if (COMMENT_STATES.has(state)) s.text = '';
    return '';
  }

  /** Characters held of a token saxes keeps whole: an attribute value, PI, DOCTYPE or XML declaration. */
  heldTokenChars(): number {
    return this.s.text.length;
  }

  /**
   * In text content with nothing carried over to the next write: how many `]` the text ends with
   * (0, 1 or 2, as far as `]]>` matters). Otherwise (inside markup, a comment, an entity...)
   * undefined.
   */
  textBrackets(): number | undefined {
    const s = this.s;
    if (s.state !== TEXT || s.carriedFromPrevious !== undefined) return undefined;
    const brackets = TEXT_BRACKETS.indexOf(s.forbiddenState);
    return brackets < 0 ? undefined : brackets;
  }

  /** The root element has ended (only comments, PIs and spaces may follow). */
  rootClosed(): boolean {
    return this.s.closedRoot;
  }

  /** Sets where saxes reports the next error, after it was primed with made-up input. */
  setPosition(line: number, column: number): void {
    this.s.line = line;
    this.s.column = column;
  }

  /** Characters held of a name being read (element, attribute, PI target or entity reference). */
  heldNameChars(): number {
    const s = this.s;
    return Math.max(s.name.length, s.entity.length, s.piTarget.length);
  }
}

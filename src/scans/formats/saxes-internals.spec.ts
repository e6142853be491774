/**
 * Guards what saxes-internals.ts relies on. If a saxes upgrade changes its private state, loading
 * that module already throws SaxesInternalsChanged; these tests say which behaviour broke.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { SaxesBuffers } from './saxes-internals';

function parserAfter(
  xml: string,
  withText = false,
): { parser: SaxesParser; buffers: SaxesBuffers } {
  const parser = new SaxesParser({ xmlns: false });
  if (withText) parser.on('text', () => undefined);
  parser.write(xml);
  return { parser, buffers: new SaxesBuffers(parser) };
}

describe('saxes internals', () => {
  it('saxes is pinned to the exact version these internals were checked against', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const installed = (
      JSON.parse(readFileSync(require.resolve('saxes/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(manifest.dependencies.saxes).toBe('6.0.0');
    expect(installed).toBe('6.0.0');
  });

  it('takes the pending part of a CDATA section, and saxes delivers the rest at its end', () => {
    const { parser, buffers } = parserAfter('<r><![CDATA[first part');
    const delivered: string[] = [];
    parser.on('cdata', (cdata) => delivered.push(cdata));
    expect(buffers.takeCharacterData()).toBe('first part');
    expect(buffers.takeCharacterData()).toBe('');
    parser.write(' and ]');
    expect(buffers.takeCharacterData()).toBe(' and ');
    parser.write(']');
    expect(buffers.takeCharacterData()).toBe('');
    parser.write('x]]>');
    expect(delivered).toEqual([']]x']);
  });

  it('takes pending text (while a text handler is set), also before an entity reference', () => {
    const { parser, buffers } = parserAfter('<r>some text', true);
    expect(buffers.takeCharacterData()).toBe('some text');
    parser.write(' then &am');
    expect(buffers.takeCharacterData()).toBe(' then ');
    expect(buffers.heldNameChars()).toBe(2);
  });

  it("drops a comment's pending content without returning it", () => {
    const { parser, buffers } = parserAfter('<r><!-- a long comment');
    expect(buffers.takeCharacterData()).toBe('');
    expect(buffers.heldTokenChars()).toBe(0);
    const comments: string[] = [];
    parser.on('comment', (c) => comments.push(c));
    parser.write(' goes on -->');
    expect(comments).toEqual([' goes on ']);
  });

  it('leaves tokens saxes must keep whole in place, and measures them', () => {
    for (const [xml, held] of [
      ['<r a="an attribute value', 18],
      ['<r a="value &am', 6],
      ['<?pi some instruction', 16],
      ['<!DOCTYPE r [<!ELEMENT r ANY>', 20],
    ] as const) {
      const { buffers } = parserAfter(xml);
      expect({ xml, taken: buffers.takeCharacterData() }).toEqual({ xml, taken: '' });
      expect({ xml, held: buffers.heldTokenChars() }).toEqual({ xml, held });
    }
  });

  it('measures the name being read: element, attribute, PI target, entity', () => {
    expect(parserAfter('<abcdef').buffers.heldNameChars()).toBe(6);
    expect(parserAfter('<r abcdefg').buffers.heldNameChars()).toBe(7);
    expect(parserAfter('<?abcd').buffers.heldNameChars()).toBe(4);
    expect(parserAfter('<r>&abcde', true).buffers.heldNameChars()).toBe(5);
  });
});

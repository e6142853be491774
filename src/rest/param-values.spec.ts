import { IsInt, IsString } from 'class-validator';
import { CommaSeparatedList } from './param-rules';
import {
  bindRepeatedParams,
  cameBeforeFile,
  checkParamValues,
  mergeParams,
  TOO_DEEP_PARAMS,
} from './param-values';

class Params {
  @CommaSeparatedList()
  @IsString()
  scanners!: string;

  @IsInt()
  id!: number;
}

describe('mergeParams', () => {
  it('keeps every value of a name given in several sources, in order', () => {
    expect(mergeParams({ a: '1', b: 'x' }, { a: '2' }, { a: ['3', '4'] })).toEqual({
      a: ['1', '2', '3', '4'],
      b: 'x',
    });
  });

  it('skips what is not a parameter map, and never a __proto__ parameter', () => {
    const merged = mergeParams(
      undefined,
      Buffer.from('body'),
      ['x'],
      JSON.parse('{"__proto__": {"admin": true}, "id": "7"}'),
    );
    expect(merged).toEqual({ id: '7' });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });
});

describe('checkParamValues', () => {
  it('refuses a NUL character, naming the top-level parameter', () => {
    expect(() => checkParamValues({ name: { inner: 'a\u0000b' } })).toThrow(
      "Parameter 'name' contains a NUL character.",
    );
    expect(() => checkParamValues('a\u0000')).toThrow('A parameter contains a NUL character.');
  });

  it('refuses values nested deeper than any DTO takes, without a stack of its own', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => checkParamValues({ deep })).toThrow(TOO_DEEP_PARAMS);
    expect(() => checkParamValues({ a: [[['ok']]], b: Buffer.alloc(3) })).not.toThrow();
  });
});

describe('bindRepeatedParams', () => {
  it('joins a repeated comma-separated list and refuses a repeated single value', () => {
    expect(bindRepeatedParams({ scanners: ['zap', 'burp'], id: '3' }, Params)).toEqual({
      scanners: 'zap,burp',
      id: '3',
    });
    expect(() => bindRepeatedParams({ id: ['3', '4'] }, Params)).toThrow(
      "Parameter 'id' was given more than once.",
    );
    // Undeclared parameters are the whitelist's to drop.
    expect(bindRepeatedParams({ other: ['1', '2'] }, Params)).toEqual({ other: ['1', '2'] });
  });
});

describe('cameBeforeFile', () => {
  it('is true only when every required parameter came (an empty one too: it is refused early)', () => {
    const keys = ['scanQueueTaskId', 'secureTaskKey'];
    expect(cameBeforeFile({ scanQueueTaskId: '1', secureTaskKey: 'k' }, keys)).toBe(true);
    expect(cameBeforeFile({ scanQueueTaskId: '1' }, keys)).toBe(false);
    expect(cameBeforeFile({ scanQueueTaskId: '', secureTaskKey: '' }, keys)).toBe(true);
  });
});

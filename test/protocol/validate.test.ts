import { describe, expect, it } from 'vitest';
import {
  checked,
  DECODE_CONTEXT,
  ENCODE_CONTEXT,
  nested,
  readArray,
  readBytes,
  readEnum,
  readFields,
  readNodeId,
  readString,
  readTags,
  readUint,
  utf8ByteLength,
} from '../../src/protocol/validate.js';
import { TAGS_BYTES_MAX, TAGS_COUNT_MAX } from '../../src/protocol/limits.js';
import { expectCode } from './helpers.js';

/** Run a reader the way the codec does on decode. */
const onDecode = <T>(read: () => T): T => checked(DECODE_CONTEXT, 'M', read);

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['a😀b', 6],
    ['\ud800', -1],
    ['\udc00x', -1],
    ['x\ud83d', -1],
  ])('%j -> %i', (s, n) => {
    expect(utf8ByteLength(s)).toBe(n);
    if (n >= 0) expect(new TextEncoder().encode(s).length).toBe(n);
  });
});

describe('readers', () => {
  it('readUint bounds, integers only, and normalises -0', () => {
    expect(readUint(5, 'x')).toBe(5);
    expect(Object.is(readUint(-0, 'x'), 0)).toBe(true);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53, '1', null, 1n]) {
      expectCode(() => onDecode(() => readUint(bad, 'x')), 'FLO_DECODE_INVALID');
    }
    expectCode(() => checked(ENCODE_CONTEXT, 'M', () => readUint(11, 'x', 10)), 'FLO_INVALID_ARGUMENT');
    expectCode(() => checked(ENCODE_CONTEXT, 'M', () => readUint(0, 'x', 10, 1)), 'FLO_INVALID_ARGUMENT');
  });

  it('readString counts UTF-8 bytes, not characters, and refuses lone surrogates', () => {
    expect(readString('éé', 'x', 4)).toBe('éé');
    for (const [s, max, min] of [['ééé', 5, 0], ['', 5, 1], ['x'.repeat(1000), 5, 0], ['\ud800', 30, 0], ['\ud800'.repeat(20), 30, 0]] as const) {
      expectCode(() => onDecode(() => readString(s, 'x', max, min)), 'FLO_DECODE_INVALID');
    }
  });

  it('readBytes copies on decode and not on encode', () => {
    const b = new Uint8Array([1, 2]);
    expect(readBytes(ENCODE_CONTEXT, b, 'x', 2)).toBe(b);
    const copy = readBytes(DECODE_CONTEXT, b, 'x', 2);
    expect(copy).not.toBe(b);
    expect([...copy]).toEqual([1, 2]);
    expectCode(() => onDecode(() => readBytes(DECODE_CONTEXT, b, 'x', 1)), 'FLO_DECODE_INVALID');
    expectCode(() => onDecode(() => readBytes(DECODE_CONTEXT, new Int8Array(2), 'x', 4)), 'FLO_DECODE_INVALID');
  });

  it('readEnum takes codes only', () => {
    expect(readEnum(1, 'x', ['a', 'b'])).toBe('b');
    for (const bad of [2, -1, 0.5, 'a', 'length']) expectCode(() => onDecode(() => readEnum(bad, 'x', ['a', 'b'])), 'FLO_DECODE_INVALID');
  });

  it('readArray checks the count before the items', () => {
    expectCode(() => onDecode(() => readArray([1, 2, 3], 'list', 2, () => 0)), 'FLO_DECODE_INVALID');
  });

  it('builds the full path of a failure only as it propagates', () => {
    const readPair = (v: unknown) => {
      const f = readFields(v, 2);
      return [readNodeId(f[0], 'a'), readArray(f[1], 'ids', 5, readNodeId)];
    };
    const error = expectCode(() => onDecode(() => nested('pair', readPair, ['x', ['y', '']])), 'FLO_DECODE_INVALID');
    expect(error.message).toContain('M.pair.ids[1]: expected');
    expect(error.details).toEqual({ path: 'M.pair.ids[1]' });
    expect(expectCode(() => onDecode(() => nested('pair', readPair, 'no')), 'FLO_DECODE_INVALID').message).toContain('M.pair: expected an array of 2 fields');
  });

  it('readTags bounds count and bytes and builds a null-prototype object', () => {
    const many = new Map(Array.from({ length: TAGS_COUNT_MAX + 1 }, (_, i) => [`k${i}`, ''] as [string, string]));
    expectCode(() => onDecode(() => readTags(many)), 'FLO_DECODE_INVALID');
    const exact = readTags(new Map([['k', 'v'.repeat(TAGS_BYTES_MAX - 1)]]));
    expect(exact.k).toHaveLength(TAGS_BYTES_MAX - 1);
    expect(Object.getPrototypeOf(exact)).toBeNull();
    expectCode(() => onDecode(() => readTags(new Map([['k', 'v'.repeat(TAGS_BYTES_MAX)]]))), 'FLO_DECODE_INVALID');
    expectCode(() => onDecode(() => readTags(new Map([['k', '\udc00']]))), 'FLO_DECODE_INVALID');
    expectCode(() => onDecode(() => readTags(new Map([['k'.repeat(65), '']]))), 'FLO_DECODE_INVALID');
  });
});

// The check a node makes of an encoded value from a client before storing it: exactly
// one msgpack value of the protocol's types, else FLO_INVALID_ARGUMENT.
import { describe, expect, it } from 'vitest';
import { checkEncodedValue, encodeValue } from '../../src/protocol/map-values.js';

describe('checkEncodedValue', () => {
  it.each([
    ['a string', encodeValue('x'.repeat(100))],
    ['an object', encodeValue({ v: 'x', n: 1, nested: { list: [1, 2, null, true] } })],
    ['bytes', encodeValue(new Uint8Array([1, 2, 3]))],
    ['nil', encodeValue(null)],
  ])('takes %s, returning the same bytes', (_what, bytes) => {
    expect(checkEncodedValue(bytes)).toBe(bytes);
  });

  it.each([
    ['empty bytes', new Uint8Array([]), 'FLO_DECODE_TRUNCATED'],
    ['a truncated string', new Uint8Array([0xa5, 0x61, 0x62]), 'FLO_DECODE_TRUNCATED'],
    ['trailing bytes', new Uint8Array([0x01, 0x02]), 'FLO_DECODE_INVALID'],
    ['an extension type', new Uint8Array([0xd4, 0x01, 0x00]), 'FLO_DECODE_MALFORMED'],
    ['the reserved byte', new Uint8Array([0xc1]), 'FLO_DECODE_MALFORMED'],
    ['an array missing items', new Uint8Array([0x93, 0x01]), 'FLO_DECODE_TRUNCATED'],
  ])('refuses %s with FLO_INVALID_ARGUMENT', (_what, bytes, cause) => {
    let caught: unknown;
    try {
      checkEncodedValue(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'FLO_INVALID_ARGUMENT' });
    expect((caught as Error).message).toContain(cause);
  });
});

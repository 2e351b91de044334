import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { NESTING_DEPTH_MAX, scanValue } from '../../src/protocol/msgpack-scan.js';
import { expectCode } from './helpers.js';

const b = (...x: number[]): Uint8Array => new Uint8Array(x);

describe('scanValue', () => {
  const ends: [string, Uint8Array, number][] = [
    ['positive fixint', b(0x05, 0xff), 1],
    ['negative fixint', b(0xe0), 1],
    ['nil, false, true', b(0xc0), 1],
    ['uint64', b(0xcf, 0, 0, 0, 0, 0, 0, 0, 1), 9],
    ['float32', b(0xca, 0, 0, 0, 0), 5],
    ['fixstr', b(0xa2, 0x61, 0x62, 0x00), 3],
    ['str8', b(0xd9, 0x01, 0x61), 3],
    ['str16', b(0xda, 0x00, 0x01, 0x61), 4],
    ['str32', b(0xdb, 0, 0, 0, 1, 0x61), 6],
    ['bin8', b(0xc4, 0x02, 1, 2), 4],
    ['empty fixarray', b(0x90, 0x01), 1],
    ['nested arrays', b(0x92, 0x91, 0x01, 0x02), 4],
    ['fixmap', b(0x81, 0xa1, 0x61, 0x01), 4],
    ['array16', b(0xdc, 0x00, 0x02, 0x01, 0x02), 5],
    ['map32', b(0xdf, 0, 0, 0, 1, 0x01, 0x02), 7],
  ];
  it.each(ends)('%s', (_name, bytes, end) => {
    expect(scanValue(bytes)).toBe(end);
  });

  const errors: [string, Uint8Array, ErrorCode][] = [
    ['empty', b(), 'FLO_DECODE_TRUNCATED'],
    ['short uint16', b(0xcd, 0x01), 'FLO_DECODE_TRUNCATED'],
    ['short str', b(0xa3, 0x61), 'FLO_DECODE_TRUNCATED'],
    ['short str32 length', b(0xdb, 0, 0), 'FLO_DECODE_TRUNCATED'],
    ['array missing items', b(0x93, 0x01), 'FLO_DECODE_TRUNCATED'],
    ['map missing a value', b(0x81, 0x01), 'FLO_DECODE_TRUNCATED'],
    ['huge array count', b(0xdd, 0xff, 0xff, 0xff, 0xff), 'FLO_DECODE_TRUNCATED'],
    ['reserved 0xc1', b(0xc1), 'FLO_DECODE_MALFORMED'],
    ['ext8', b(0xc7, 0x01, 0x05, 0x00), 'FLO_DECODE_MALFORMED'],
    ['fixext1', b(0xd4, 0x05, 0x00), 'FLO_DECODE_MALFORMED'],
    ['fixext16', b(0xd8), 'FLO_DECODE_MALFORMED'],
  ];
  it.each(errors)('%s', (_name, bytes, code) => {
    expectCode(() => scanValue(bytes), code);
  });

  it('accepts nesting up to NESTING_DEPTH_MAX and refuses one more', () => {
    const nested = (depth: number): Uint8Array => new Uint8Array([...new Array<number>(depth).fill(0x91), 0xc0]);
    expect(scanValue(nested(NESTING_DEPTH_MAX))).toBe(NESTING_DEPTH_MAX + 1);
    expectCode(() => scanValue(nested(NESTING_DEPTH_MAX + 1)), 'FLO_DECODE_MALFORMED');
  });

  it('finds the end of any packed value of standard types, and flags every prefix as truncated', () => {
    const packr = new Packr({ useRecords: false });
    const leaf = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 300 }));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', maxDepth: NESTING_DEPTH_MAX - 1, depthIdentifier: 'tree', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 20 }), fc.dictionary(fc.string(), tie('node'), { maxKeys: 5 })),
    })).node;
    fc.assert(
      fc.property(tree, fc.uint8Array({ maxLength: 4 }), (value, tail) => {
        const packed = Uint8Array.from(packr.pack(value));
        const withTail = new Uint8Array([...packed, ...tail]);
        expect(scanValue(withTail)).toBe(packed.length);
        for (let n = 0; n < packed.length; n += Math.max(1, Math.floor(packed.length / 16))) {
          expectCode(() => scanValue(packed.subarray(0, n)), 'FLO_DECODE_TRUNCATED');
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});

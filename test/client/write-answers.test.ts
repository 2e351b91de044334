// The client's reading of write acknowledgements: the direct reader of the usual shape
// must agree with the general msgpack decoder on every answer, and leave anything else
// (other encodings, non-ASCII node ids, trailing bytes) to it.
import { describe, expect, it } from 'vitest';
import { decodeWriteAnswer } from '../../src/client/answers.js';
import { SeededRandom } from '../../src/core/random.js';
import { encodeValue, unpackValue } from '../../src/protocol/map-values.js';

/** What the general decoder alone makes of `bytes`. */
function general(bytes: Uint8Array): unknown {
  const f = unpackValue(bytes, 'write answer') as unknown[];
  return { deleted: f[0] === true, version: { millis: f[1], counter: f[2], node: f[3] } };
}

describe('write answers', () => {
  it('reads every usual answer as the general decoder does', () => {
    const random = new SeededRandom(7);
    const numbers = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_765_000_000_000, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2_000; i++) {
      const millis = numbers[random.int(numbers.length)]! + (random.next() < 0.5 ? 0 : random.int(1000));
      const counter = numbers[random.int(numbers.length)]!;
      const node = 'n'.repeat(1 + random.int(40)) + String(i);
      const result = [null, true, false][random.int(3)] as boolean | null;
      const bytes = encodeValue([result, Math.min(millis, Number.MAX_SAFE_INTEGER), counter, node]);
      expect(decodeWriteAnswer(bytes)).toEqual(general(bytes));
    }
  });

  it('leaves non-ASCII node ids and other shapes to the general decoder', () => {
    expect(decodeWriteAnswer(encodeValue([null, 5, 1, 'nœud-1']))).toEqual({ deleted: false, version: { millis: 5, counter: 1, node: 'nœud-1' } });
    expect(decodeWriteAnswer(encodeValue(true))).toEqual({ deleted: true, version: undefined });
    expect(decodeWriteAnswer(encodeValue(null))).toEqual({ deleted: false, version: undefined });
  });

  it('refuses what is not an answer, as the general decoder does', () => {
    const good = encodeValue([null, 5, 1, 'n1']);
    const trailing = new Uint8Array([...good, 0xc0]);
    expect(() => decodeWriteAnswer(trailing)).toThrow(/write answer/);
    expect(() => decodeWriteAnswer(good.subarray(0, good.length - 1))).toThrow(/write answer/);
    expect(() => decodeWriteAnswer(encodeValue([null, -1, 1, 'n1']))).toThrow(/write answer/);
    expect(() => decodeWriteAnswer(encodeValue([null, 1.5, 1, 'n1']))).toThrow(/write answer/);
    expect(() => decodeWriteAnswer(encodeValue([null, 5, 1, '']))).toThrow(/write answer/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import {
  checkKey,
  compareVersions,
  decodeChanges,
  decodeEntries,
  decodeOp,
  decodeReplication,
  decodeResult,
  decodeValue,
  encodeChanges,
  encodeEntries,
  encodeOp,
  encodeReplication,
  encodeResult,
  encodeValue,
  KV_KEY_BYTES_MAX,
  type KvChange,
  type KvOp,
} from '../../src/grid/kv-codec.js';

const version = { millis: 1_700_000_000_000, counter: 3, node: 'n1' };

describe('kv codec', () => {
  it.each<[string, KvOp]>([
    ['put', { op: 'put', key: 'k', value: new Uint8Array([1, 2]) }],
    ['get', { op: 'get', key: 'ключ 🚀' }],
    ['delete', { op: 'delete', key: 'k' }],
    ['size', { op: 'size' }],
  ])('round-trips a %s operation', (_name, op) => {
    expect(decodeOp(encodeOp(op), 1024)).toEqual(op);
  });

  it('round-trips values, entries, changes, replication and results', () => {
    const value = { a: [1, 'two', null, true], b: new Uint8Array([9]), nested: { x: 1.5 } };
    expect(decodeValue(encodeValue(value))).toEqual(value);
    const proto = decodeValue(encodeValue(JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, number>)) as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const entries: [string, { value: Uint8Array; version: typeof version }][] = [['k', { value: encodeValue('v'), version }]];
    expect(decodeEntries(encodeEntries(entries), 1024)).toEqual(entries);
    const changes: KvChange[] = [
      { kind: 'put', key: 'a', entry: { value: encodeValue(1), version } },
      { kind: 'delete', key: 'b', version },
    ];
    expect(decodeChanges(encodeChanges(changes), 1024)).toEqual(changes);
    expect(decodeReplication(encodeReplication({ epoch: 4, tableVersion: 9, change: changes[1]! }), 1024)).toEqual({ epoch: 4, tableVersion: 9, change: changes[1] });
    expect(decodeResult(encodeResult(true))).toBe(true);
    expect(decodeResult(encodeResult(42))).toBe(42);
    expect(decodeResult(undefined)).toBeUndefined();
  });

  it('orders versions by millis, counter, then node', () => {
    expect(compareVersions({ millis: 1, counter: 9, node: 'z' }, { millis: 2, counter: 0, node: 'a' })).toBe(-1);
    expect(compareVersions({ millis: 2, counter: 1, node: 'a' }, { millis: 2, counter: 0, node: 'z' })).toBe(1);
    expect(compareVersions({ millis: 2, counter: 0, node: 'a' }, { millis: 2, counter: 0, node: 'b' })).toBe(-1);
    expect(compareVersions(version, { ...version })).toBe(0);
  });

  it.each([
    ['an empty key', ''],
    ['a key over the bound', 'x'.repeat(KV_KEY_BYTES_MAX + 1)],
    ['a lone surrogate', 'a\ud800'],
  ])('refuses %s', (_name, key) => {
    expect(() => checkKey(key)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('refuses values and entries over the value bound', () => {
    expect(() => decodeOp(encodeOp({ op: 'put', key: 'k', value: new Uint8Array(11) }), 10)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => encodeValue(undefined as never)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('turns any bytes into a decoded value or FLO_INVALID_ARGUMENT, never anything else', () => {
    const decoders = [
      (b: Uint8Array) => decodeOp(b, 1024),
      (b: Uint8Array) => decodeEntries(b, 1024),
      (b: Uint8Array) => decodeChanges(b, 1024),
      (b: Uint8Array) => decodeReplication(b, 1024),
      (b: Uint8Array) => decodeResult(b),
    ];
    // Valid messages with bytes flipped reach deeper than random bytes alone.
    const seeds = [encodeOp({ op: 'put', key: 'k', value: new Uint8Array(3) }), encodeChanges([{ kind: 'delete', key: 'b', version }])];
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(255)).map(([s, at, value]) => {
        const copy = new Uint8Array(s);
        copy[at % copy.length] = value;
        return copy;
      }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        for (const decodeWith of decoders) {
          try {
            decodeWith(b);
          } catch (error) {
            if (!isFlotillaError(error, 'FLO_INVALID_ARGUMENT')) throw error;
          }
        }
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });
});

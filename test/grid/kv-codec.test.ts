import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import {
  checkKey,
  compareVersions,
  decodeChanges,
  decodeRecords,
  decodeReplication,
  decodeValue,
  encodeChanges,
  encodeRecords,
  encodeReplication,
  encodeValue,
  KV_KEY_BYTES_MAX,
  type KvChange,
  type KvRecord,
} from '../../src/grid/kv-codec.js';
import { decodeEntriesPage, decodeOp, decodeResult, decodeWriteAnswer, encodeEntriesPage, encodeOp, encodeResult, encodeWriteAnswer, isWriteOp, type KvOp } from '../../src/grid/map-ops.js';

const version = { millis: 1_700_000_000_000, counter: 3, node: 'n1' };

describe('kv codec', () => {
  it.each<[string, KvOp]>([
    ['put', { op: 'put', map: 'default', key: 'k', value: new Uint8Array([1, 2]) }],
    ['get', { op: 'get', map: 'users', key: 'ключ 🚀' }],
    ['delete', { op: 'delete', map: 'm', key: 'k' }],
    ['size', { op: 'size', map: 'm' }],
    ['entries', { op: 'entries', map: 'm', after: null }],
    ['entries after a key', { op: 'entries', map: 'm', after: 'k7' }],
    ['versioned get', { op: 'getVersioned', map: 'm', key: 'k' }],
  ])('round-trips a %s operation', (_name, op) => {
    expect(decodeOp(encodeOp(op), 1024)).toEqual(op);
    expect(isWriteOp(encodeOp(op))).toBe(op.op === 'put' || op.op === 'delete');
  });

  it('round-trips values, entries, changes, replication and results', () => {
    const value = { a: [1, 'two', null, true], b: new Uint8Array([9]), nested: { x: 1.5 } };
    expect(decodeValue(encodeValue(value))).toEqual(value);
    const proto = decodeValue(encodeValue(JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, number>)) as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const records: KvRecord[] = [
      { map: 'default', key: 'k', slot: { value: encodeValue('v'), version } },
      { map: 'users', key: 'gone', slot: { value: null, version } },
    ];
    expect(decodeRecords(encodeRecords(records), 1024)).toEqual(records);
    const changes: KvChange[] = [
      { kind: 'put', key: 'a', entry: { value: encodeValue(1), version } },
      { kind: 'delete', key: 'b', version },
      { kind: 'put', map: 'users', key: 'c', entry: { value: encodeValue(2), version } },
      { kind: 'delete', map: 'users', key: 'd', version },
    ];
    expect(decodeChanges(encodeChanges(changes), 1024)).toEqual(changes);
    expect(decodeReplication(encodeReplication({ epoch: 4, tableVersion: 9, change: changes[1]! }), 1024)).toEqual({ epoch: 4, tableVersion: 9, change: changes[1] });
    expect(decodeReplication(encodeReplication({ epoch: 4, tableVersion: 9, change: changes[2]! }), 1024)).toEqual({ epoch: 4, tableVersion: 9, change: changes[2] });
    const page = { entries: [['a', encodeValue(1)], ['b', encodeValue('x')]] as [string, Uint8Array][], more: true };
    expect(decodeEntriesPage(encodeEntriesPage(page), 1024)).toEqual(page);
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
    expect(() => decodeOp(encodeOp({ op: 'put', map: 'm', key: 'k', value: new Uint8Array(11) }), 10)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => encodeValue(undefined as never)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('turns any bytes into a decoded value or FLO_INVALID_ARGUMENT, never anything else', () => {
    const decoders = [
      (b: Uint8Array) => decodeOp(b, 1024),
      (b: Uint8Array) => decodeRecords(b, 1024),
      (b: Uint8Array) => decodeEntriesPage(b, 1024),
      (b: Uint8Array) => decodeChanges(b, 1024),
      (b: Uint8Array) => decodeReplication(b, 1024),
      (b: Uint8Array) => decodeResult(b),
      (b: Uint8Array) => decodeWriteAnswer(b),
    ];
    // Valid messages with bytes flipped reach deeper than random bytes alone.
    const seeds = [
      encodeOp({ op: 'put', map: 'm', key: 'k', value: new Uint8Array(3) }),
      encodeChanges([{ kind: 'delete', key: 'b', version }]),
      encodeRecords([{ map: 'm', key: 'k', slot: { value: null, version } }]),
      encodeWriteAnswer(true, version),
    ];
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

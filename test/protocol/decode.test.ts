import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { MESSAGE_TYPE_CODES as C, WIRE_MAGIC } from '../../src/protocol/type-codes.js';
import { concat, craft, expectCode } from './helpers.js';

const nack = (seqNo: unknown, from: unknown = 'a'): Uint8Array => craft(C.Nack, [seqNo, from]);
const alive = (tags: unknown): Uint8Array => craft(C.Alive, ['n', 1, 'h:1', tags]);
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const frameOf = (code: number, ...body: number[]): Uint8Array => bytes(WIRE_MAGIC, code, ...body);

describe('decode rejects', () => {
  const cases: [string, Uint8Array, ErrorCode][] = [
    ['empty input', bytes(), 'FLO_DECODE_TRUNCATED'],
    ['a foreign first byte', bytes(0x00, C.Nack, 0x92, 1, 0xa1, 0x61), 'FLO_DECODE_MALFORMED'],
    ['a future wire version', bytes(0xf2, C.Nack, 0x92, 1, 0xa1, 0x61), 'FLO_DECODE_MALFORMED'],
    ['the magic byte alone', bytes(WIRE_MAGIC), 'FLO_DECODE_TRUNCATED'],
    ['type code 0', frameOf(0, 0x90), 'FLO_DECODE_UNKNOWN_TYPE'],
    ['an unassigned type code', frameOf(0xee, 0x90), 'FLO_DECODE_UNKNOWN_TYPE'],
    ['a header without body', frameOf(C.Nack), 'FLO_DECODE_TRUNCATED'],
    ['a body cut short', frameOf(C.Nack, 0x92, 1), 'FLO_DECODE_TRUNCATED'],
    ['a str length past the end', frameOf(C.Nack, 0x92, 1, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61), 'FLO_DECODE_TRUNCATED'],
    ['an array32 count past the end', frameOf(C.Nack, 0xdd, 0xff, 0xff, 0xff, 0xff, 1), 'FLO_DECODE_TRUNCATED'],
    ['trailing bytes', concat(encode({ type: 'Nack', seqNo: 1, from: 'a' }), bytes(0xc0)), 'FLO_DECODE_INVALID'],
    ['a scalar body', frameOf(C.Nack, 0x01), 'FLO_DECODE_MALFORMED'],
    ['a map body', craft(C.Nack, { seqNo: 1, from: 'a' }), 'FLO_DECODE_MALFORMED'],
    ['too many fields', craft(C.Nack, [1, 'a', 'extra']), 'FLO_DECODE_MALFORMED'],
    ['too few fields', craft(C.Nack, [1]), 'FLO_DECODE_MALFORMED'],
    ['the reserved byte 0xc1', frameOf(C.Nack, 0x92, 0xc1, 0xa1, 0x61), 'FLO_DECODE_MALFORMED'],
    ['a timestamp extension (Date)', nack(new Date(0)), 'FLO_DECODE_MALFORMED'],
    ['a fixext', frameOf(C.Nack, 0x92, 0xd4, 0x05, 0x00, 0xa1, 0x61), 'FLO_DECODE_MALFORMED'],
    ['a msgpackr record definition', frameOf(C.Nack, 0xd4, 0x72, 0x40, 0x92, 0xa1, 0x61, 0xa1, 0x62, 1, 2), 'FLO_DECODE_MALFORMED'],
    ['a msgpackr error extension', frameOf(C.Nack, 0x92, 1, 0xd4, 0x65, 0, 0x92, 0xa5, ...[...'Error'].map((c) => c.charCodeAt(0)), 0xa1, 0x78), 'FLO_DECODE_MALFORMED'],
    ['deep nesting', concat(frameOf(C.FetchPartitionTable), new Uint8Array(100_000).fill(0x91), bytes(0xc0)), 'FLO_DECODE_MALFORMED'],
    ['nesting one past the bound', frameOf(C.FetchPartitionTable, ...new Array<number>(9).fill(0x91), 0xc0), 'FLO_DECODE_MALFORMED'],
    ['a string seqNo', nack('1'), 'FLO_DECODE_INVALID'],
    ['a negative seqNo', nack(-1), 'FLO_DECODE_INVALID'],
    ['a fractional seqNo', nack(1.5), 'FLO_DECODE_INVALID'],
    ['a seqNo beyond 2^53', nack(2n ** 60n), 'FLO_DECODE_INVALID'],
    ['a NaN seqNo', nack(Number.NaN), 'FLO_DECODE_INVALID'],
    ['nil for a required field', nack(null), 'FLO_DECODE_INVALID'],
    ['an empty node id', nack(1, ''), 'FLO_DECODE_INVALID'],
    ['a node id of bytes', nack(1, new Uint8Array([0x61])), 'FLO_DECODE_INVALID'],
    ['a number as node id', nack(1, 7), 'FLO_DECODE_INVALID'],
    ['tags as an array', alive(['a']), 'FLO_DECODE_INVALID'],
    ['a tag value that is a number', alive(new Map([['zone', 1]])), 'FLO_DECODE_INVALID'],
    ['a tag key that is a number', alive(new Map([[1, 'a']])), 'FLO_DECODE_INVALID'],
    ['a __proto__ tag', alive(new Map([['__proto__', 'x']])), 'FLO_DECODE_INVALID'],
    ['a __proto__ tag holding a map', alive(new Map([['__proto__', new Map([['polluted', 'yes']])]])), 'FLO_DECODE_INVALID'],
    ['an update with an unknown code', craft(C.Gossip, ['a', [[1, 'x', 1, 'y']]]), 'FLO_DECODE_INVALID'],
    ['an update with missing fields', craft(C.Gossip, ['a', [[C.Suspect, 'x', 1]]]), 'FLO_DECODE_INVALID'],
    ['a partition beyond uint32', craft(C.MigrateReady, ['m', 2 ** 32, 1]), 'FLO_DECODE_INVALID'],
    ['a bool as 0/1', craft(C.Dead, ['n', 1, 'a', 1]), 'FLO_DECODE_INVALID'],
    ['a role code out of range', craft(C.MigrateStart, ['m', 1, 'a', 'b', 2, 1, 1]), 'FLO_DECODE_INVALID'],
    ['hops past the bound', craft(C.OpForward, ['o', 1, 'a', 4, new Uint8Array(1)]), 'FLO_DECODE_INVALID'],
    ['a payload as a string', craft(C.OpForward, ['o', 1, 'a', 1, 'abc']), 'FLO_DECODE_INVALID'],
  ];

  it.each(cases)('%s', (_name, frame, code) => {
    expectCode(() => decode(frame), code);
  });

  it('rejects input that is not bytes as MALFORMED', () => {
    expectCode(() => decode('f1' as unknown as Uint8Array), 'FLO_DECODE_MALFORMED');
    expectCode(() => decode(null as unknown as Uint8Array), 'FLO_DECODE_MALFORMED');
  });
});

describe('decode accepts other encoders’ choices', () => {
  it('integers sent as int64, uint64 or float64, and tags sent as an object map', () => {
    expect(decode(nack(5n))).toEqual({ type: 'Nack', seqNo: 5, from: 'a' });
    expect(decode(frameOf(C.Nack, 0x92, 0xcf, 0, 0, 0, 0, 0, 0, 0, 9, 0xa1, 0x61))).toEqual({ type: 'Nack', seqNo: 9, from: 'a' });
    expect(decode(frameOf(C.Nack, 0x92, 0xcb, 0x40, 0x14, 0, 0, 0, 0, 0, 0, 0xa1, 0x61))).toEqual({ type: 'Nack', seqNo: 5, from: 'a' });
    expect(decode(alive({ zone: 'a' }))).toEqual({ type: 'Alive', node: 'n', incarnation: 1, address: 'h:1', tags: { zone: 'a' } });
  });

  it('frames from a default msgpackr instance (records on) for plain arrays', () => {
    const recordsOn = new Packr();
    const frame = concat(bytes(WIRE_MAGIC, C.Heartbeat), recordsOn.pack(['n1', 3, ['n2']]));
    expect(decode(frame)).toEqual({ type: 'Heartbeat', from: 'n1', viewVersion: 3, suspected: ['n2'] });
  });
});

describe('prototype pollution', () => {
  it('leaves Object.prototype untouched and decoded tags inert', () => {
    const hostile = [
      alive(new Map([['__proto__', 'x']])),
      alive(new Map([['__proto__', new Map([['polluted', 'yes']])]])),
      craft(C.Nack, { __proto__: { polluted: 'yes' } }),
      alive(new Map([['constructor', 'x'], ['prototype', 'y'], ['toString', 'z']])),
    ];
    for (const frame of hostile) {
      try {
        decode(frame);
      } catch {
        // refusal is fine; what matters is no side effect
      }
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const ok = decode(hostile[3]!) as { tags: Record<string, string> };
    expect(Object.getPrototypeOf(ok.tags)).toBeNull();
    expect(ok.tags.constructor).toBe('x');
    expect({ ...ok.tags }).toEqual({ constructor: 'x', prototype: 'y', toString: 'z' });
  });
});

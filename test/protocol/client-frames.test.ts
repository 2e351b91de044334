import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { packBody, unpackBody } from '../../src/protocol/msgpack.js';
import { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame, type ClientFrame, type ServerFrame } from '../../src/protocol/client-frames.js';

const call = { id: 11, entityType: 'Tally', entityId: 't-1', handler: 'add', args: new Uint8Array([0x91, 0x01]), forward: false, callId: 'c-1' } as const;
const put = { id: 7, map: 'users', op: 'put', key: 'k', value: new Uint8Array([0xa1, 0x61]), forward: false } as const;

describe('client frames', () => {
  it.each<[string, ClientFrame]>([
    ['AUTH', { type: 'AUTH', token: 'a.b.c' }],
    ['OP put', { type: 'OP', op: put }],
    ['OP size', { type: 'OP', op: { id: 1, map: 'm', op: 'size', key: null, value: null, forward: true } }],
    ['BATCH', { type: 'BATCH', ops: [put, { ...put, id: 8, op: 'get', value: null }] }],
    ['MAP_REQUEST', { type: 'MAP_REQUEST', version: 12 }],
    ['SUBSCRIBE to a map', { type: 'SUBSCRIBE', sub: { id: 2 ** 40, map: 'm', key: null, prefix: null } }],
    ['SUBSCRIBE to a prefix', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: null, prefix: 'user-' } }],
    ['SUBSCRIBE resumable, fresh', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: 'k', prefix: null, since: null } }],
    ['SUBSCRIBE resumable with a cursor', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: null, prefix: null, since: new Map([[0, 17], [270, 1_700_000_000_000]]) } }],
    ['SUBSCRIBE resumable with an empty cursor', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: null, prefix: null, since: new Map() } }],
    ['SUBSCRIBE relayed', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: null, prefix: null, since: new Map([[2, 9]]), relay: true } }],
    ['SUBSCRIBE relayed, fresh, one key', { type: 'SUBSCRIBE', sub: { id: 3, map: 'm', key: 'k', prefix: null, since: null, relay: true } }],
    ['UNSUBSCRIBE', { type: 'UNSUBSCRIBE', id: 3 }],
    ['CALL', { type: 'CALL', call }],
    ['CALL forwarded', { type: 'CALL', call: { ...call, forward: true } }],
  ])('round-trips a client %s', (_name, frame) => {
    expect(decodeClientFrame(encodeClientFrame(frame), 1024)).toEqual(frame);
  });

  it.each<[string, ServerFrame]>([
    ['AUTH_REQUIRED', { type: 'AUTH_REQUIRED' }],
    ['AUTH_ACK', { type: 'AUTH_ACK', nodeId: 'n1', expiresAt: 1_700_000_000_000 }],
    ['AUTH_FAIL', { type: 'AUTH_FAIL', code: 'FLO_AUTH_FAILED', message: 'no' }],
    ['PARTITION_MAP', { type: 'PARTITION_MAP', map: { version: 3, partitionCount: 3, owners: [0, 1, -1], nodes: [{ nodeId: 'a', url: 'ws://a:1' }, { nodeId: 'b', url: 'ws://b:1' }], writable: true } }],
    ['PARTITION_MAP of a read-only node', { type: 'PARTITION_MAP', map: { version: 3, partitionCount: 1, owners: [0], nodes: [{ nodeId: 'a', url: 'ws://a:1' }], writable: false } }],
    ['RESULT', { type: 'RESULT', id: 4, payload: null }],
    ['RESULTS', { type: 'RESULTS', results: [{ id: 4, payload: null }, { id: 5, payload: new Uint8Array([0xc3]) }] }],
    ['EVENT', { type: 'EVENT', id: 9, key: 'k', value: new Uint8Array([1]), version: { millis: 5, counter: 1, node: 'n1' } }],
    ['EVENT of a delete', { type: 'EVENT', id: 9, key: 'k', value: null, version: { millis: 5, counter: 1, node: 'n1' } }],
    ['EVENT with a mark', { type: 'EVENT', id: 9, key: 'k', value: null, version: { millis: 5, counter: 1, node: 'n1' }, mark: { partition: 12, millis: 4 } }],
    ['EVENTS_DROPPED', { type: 'EVENTS_DROPPED', id: 9, code: 'FLO_EVENTS_DROPPED', message: 'slow' }],
    ['ERROR', { type: 'ERROR', id: 4, code: 'FLO_NOT_OWNER', message: 'x', owner: { nodeId: 'b', url: 'ws://b:1' }, mapVersion: 3 }],
  ])('round-trips a server %s', (_name, frame) => {
    expect(decodeServerFrame(encodeServerFrame(frame), 1024)).toEqual(frame);
  });

  it.each<[string, ClientFrame]>([
    ['a put without a value', { type: 'OP', op: { ...put, value: null } }],
    ['a get with a value', { type: 'OP', op: { ...put, op: 'get' } }],
    ['a size with a key', { type: 'OP', op: { ...put, op: 'size', value: null } }],
    ['an empty map name', { type: 'OP', op: { ...put, map: '' } }],
    ['a call without an entity id', { type: 'CALL', call: { ...call, entityId: '' } }],
    ['a call with a type name over 128 bytes', { type: 'CALL', call: { ...call, entityType: 'T'.repeat(129) } }],
    ['a call without a call id', { type: 'CALL', call: { ...call, callId: '' } }],
    ['a call whose arguments exceed the value bound', { type: 'CALL', call: { ...call, args: new Uint8Array(1025) } }],
    ['a subscription to a key and a prefix', { type: 'SUBSCRIBE', sub: { id: 1, map: 'm', key: 'k', prefix: 'p' } }],
    ['a cursor with a partition past the bound', { type: 'SUBSCRIBE', sub: { id: 1, map: 'm', key: null, prefix: null, since: new Map([[65_536, 1]]) } }],
    ['a cursor with a negative mark', { type: 'SUBSCRIBE', sub: { id: 1, map: 'm', key: null, prefix: null, since: new Map([[1, -1]]) } }],
  ])('refuses %s', (_name, frame) => {
    expect(() => decodeClientFrame(encodeClientFrame(frame), 1024)).toThrow(expect.objectContaining({ code: 'FLO_DECODE_INVALID' }));
  });

  it('refuses a cursor of odd length and an event with half a mark', () => {
    expect(() => decodeClientFrame(new Uint8Array(packBody([5, 1, 'm', null, null, [1, 2, 3]])), 1024)).toThrow(expect.objectContaining({ code: 'FLO_DECODE_INVALID' }));
    expect(() => decodeServerFrame(new Uint8Array(packBody([107, 9, 'k', null, 5, 1, 'n1', 12])), 1024)).toThrow(expect.objectContaining({ code: 'FLO_DECODE_INVALID' }));
  });

  it('refuses a map whose owners do not match its partition count or nodes', () => {
    const bad = encodeServerFrame({ type: 'PARTITION_MAP', map: { version: 1, partitionCount: 2, owners: [0, 5], nodes: [{ nodeId: 'a', url: 'ws://a' }], writable: true } });
    expect(() => decodeServerFrame(bad, 1024)).toThrow(expect.objectContaining({ code: 'FLO_DECODE_INVALID' }));
  });

  it('reads a map without `writable` (a node from before the field) as writable, and writes the field only when false', () => {
    const nodes = [['a', 'ws://a']];
    const old = new Uint8Array(packBody([104, 4, 1, [0], nodes]));
    expect(decodeServerFrame(old, 1024)).toEqual({ type: 'PARTITION_MAP', map: { version: 4, partitionCount: 1, owners: [0], nodes: [{ nodeId: 'a', url: 'ws://a' }], writable: true } });
    const map = { version: 4, partitionCount: 1, owners: [0], nodes: [{ nodeId: 'a', url: 'ws://a' }] };
    expect([...encodeServerFrame({ type: 'PARTITION_MAP', map: { ...map, writable: true } })]).toEqual([...old]);
    expect(unpackBody(encodeServerFrame({ type: 'PARTITION_MAP', map: { ...map, writable: false } }))).toEqual([104, 4, 1, [0], nodes, false]);
  });

  it.each<[string, unknown[]]>([
    ['a non-boolean writable', [104, 4, 1, [0], [['a', 'ws://a']], 1]],
    ['a nil writable', [104, 4, 1, [0], [['a', 'ws://a']], null]],
    ['a field after writable', [104, 4, 1, [0], [['a', 'ws://a']], true, 0]],
  ])('refuses a map with %s', (_name, fields) => {
    expect(() => decodeServerFrame(new Uint8Array(packBody(fields)), 1024)).toThrow(expect.objectContaining({ code: 'FLO_DECODE_INVALID' }));
  });

  it('turns any bytes into a frame or a catalogued decode error, never anything else', () => {
    const seeds = [encodeClientFrame({ type: 'OP', op: put }), encodeClientFrame({ type: 'CALL', call }), encodeServerFrame({ type: 'ERROR', id: 1, code: 'FLO_X', message: 'm', owner: null, mapVersion: 2 })];
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
        for (const decode of [(x: Uint8Array) => decodeClientFrame(x, 1024), (x: Uint8Array) => decodeServerFrame(x, 1024)]) {
          try {
            decode(b);
          } catch (error) {
            if (!isFlotillaError(error) || !error.code.startsWith('FLO_DECODE_')) throw error;
          }
        }
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });
});

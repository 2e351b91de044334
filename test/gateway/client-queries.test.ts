// Live queries on the gateway side, without sockets: each change as the query sees it
// (the entry when it matches, a leave at the write's version otherwise), the replay
// (matches everywhere, leaves only where the cursor listed the partition) with its
// answer naming the owned partitions scanned whole, the subscription index turning
// live changes into enter/leave events, and the SUBSCRIBE frame with a filter next to
// the frames of older clients.
import { describe, expect, it } from 'vitest';
import { asQueryChange, compileQuery, queryReplay } from '../../src/gateway/client-queries.js';
import { ClientSubscriptions } from '../../src/gateway/client-subscriptions.js';
import type { KvChange } from '../../src/grid/kv-codec.js';
import { decodeClientFrame, encodeClientFrame } from '../../src/protocol/client-frames.js';
import { packBody, unpackBody } from '../../src/protocol/msgpack.js';
import { isFlotillaError } from '../../src/core/errors.js';

const v = (millis: number) => ({ millis, counter: 0, node: 'n1' });
const put = (key: string, value: unknown, millis: number): KvChange => ({ kind: 'put', map: 'm', key, entry: { value: new Uint8Array(packBody(value)), version: v(millis) } });
const del = (key: string, millis: number): KvChange => ({ kind: 'delete', map: 'm', key, version: v(millis) });
const adults = compileQuery({ op: 'gte', path: 'age', value: 18 });

describe('gateway live queries', () => {
  it('turns each change into the entry or a leave', () => {
    const adult = put('a', { age: 30 }, 5);
    expect(asQueryChange(adults, adult)).toBe(adult);
    expect(asQueryChange(adults, put('a', { age: 3 }, 5))).toEqual(del('a', 5));
    expect(asQueryChange(adults, del('a', 6))).toEqual(del('a', 6));
    // A stored value that is not msgpack matches nothing.
    expect(asQueryChange(adults, { kind: 'put', map: 'm', key: 'a', entry: { value: new Uint8Array([0xc1]), version: v(7) } })).toEqual(del('a', 7));
  });

  it('replays matches of owned partitions, leaves only where the cursor listed the partition, and names what it scanned whole', () => {
    const replay = {
      changes: [
        { change: put('in-1', { age: 20 }, 10), partition: 1 },
        { change: put('out-1', { age: 2 }, 11), partition: 1 },
        { change: del('gone-1', 12), partition: 1 },
        { change: put('in-2', { age: 40 }, 13), partition: 2 },
        { change: put('out-2', { age: 4 }, 14), partition: 2 },
        { change: del('gone-2', 15), partition: 2 },
        { change: put('backup-4', { age: 40 }, 16), partition: 4 },
      ],
      marks: [{ partition: 1, millis: 9, epoch: 1 }, { partition: 2, millis: 15, epoch: 1 }],
      owned: [1, 2, 3],
      lost: [],
    };
    const { changes, answer } = queryReplay(adults, replay, new Map([[2, 12]]));
    expect(changes.map((c) => `${c.kind}:${c.key}`)).toEqual(['put:in-1', 'put:in-2', 'delete:out-2', 'delete:gone-2']);
    expect(unpackBody(answer)).toEqual([[1, 9, 2, 15], [1, 3]]);
  });

  it('live changes of a query become enter and leave events; plain subscriptions are unchanged', () => {
    const subs = new ClientSubscriptions<string>(4);
    subs.add('c1', { id: 1, map: 'm', key: null, prefix: null, since: null, filter: {} }, adults);
    subs.add('c1', { id: 2, map: 'm', key: null, prefix: null, since: null });
    const frames = (c: KvChange) => subs.match(c).map(([, f]) => f as { id: number; value: Uint8Array | null });
    const [q, plain] = frames(put('k', { age: 5 }, 3));
    expect(q).toMatchObject({ id: 1, value: null });
    expect(plain!.value).not.toBeNull();
    expect(frames(put('k', { age: 50 }, 4))[0]!.value).not.toBeNull();
  });

  it('reads SUBSCRIBE with a filter, and the frames of older clients as before', () => {
    const filter = { op: 'exists', path: '$key' };
    const sub = { id: 9, map: 'm', key: null, prefix: 'p', since: new Map([[3, 100]]), filter };
    const decoded = decodeClientFrame(encodeClientFrame({ type: 'SUBSCRIBE', sub }), 1024);
    expect(decoded).toMatchObject({ type: 'SUBSCRIBE', sub: { id: 9, prefix: 'p', since: new Map([[3, 100]]) } });
    expect(compileQuery((decoded as { sub: { filter: unknown } }).sub.filter)('k', null)).toBe(true);
    const resumable = decodeClientFrame(encodeClientFrame({ type: 'SUBSCRIBE', sub: { id: 9, map: 'm', key: null, prefix: null, since: null } }), 1024);
    expect((resumable as { sub: object }).sub).not.toHaveProperty('filter');
    const old = decodeClientFrame(new Uint8Array(packBody([5, 9, 'm', null, null])), 1024);
    expect((old as { sub: object }).sub).not.toHaveProperty('since');
    try {
      compileQuery({ op: 'in', path: 'x', values: 3 });
      expect.unreachable();
    } catch (error) {
      expect(isFlotillaError(error) && error.code).toBe('FLO_INVALID_ARGUMENT');
    }
  });
});

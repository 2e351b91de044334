// Replay for resumable subscriptions, from a real store: what lies above the cursor per
// partition (entries and tombstones, one change per key: the latest), the subscription's
// key or prefix, marks only for owned partitions, nothing replayed for a fresh
// subscription, and partitions whose collected tombstones lie above the cursor reported
// as lost. And the owner's marks: below every write still in flight.
import { describe, expect, it } from 'vitest';
import { replayChanges, type ReplaySource } from '../../src/grid/change-replay.js';
import { KvStore } from '../../src/grid/kv-store.js';
import type { KvChange } from '../../src/grid/kv-codec.js';

const v = (millis: number, node = 'n1') => ({ millis, counter: 0, node });
const put = (key: string, millis: number, map = 'm'): KvChange => ({ kind: 'put', map, key, entry: { value: new Uint8Array([millis & 0x7f]), version: v(millis) } });

function source(store: KvStore, owned: number[], marks: Record<number, number> = {}): ReplaySource {
  return { store, held: store.heldPartitions(), owns: (p) => owned.includes(p), markOf: (p) => marks[p], epochOf: (p) => 10 + p };
}

function keys(r: ReturnType<typeof replayChanges>): string[] {
  return r.changes.map((c) => `${c.partition}:${c.change.kind}:${c.change.key}`).sort();
}

describe('replayChanges', () => {
  const store = new KvStore({ valueBytesMax: 1024, captureBytesMax: 1 << 20 });
  store.apply(1, put('a-1', 100));
  store.apply(1, put('a-1', 300));
  store.apply(1, put('b-1', 150));
  store.apply(2, put('a-2', 120));
  store.apply(2, { kind: 'delete', map: 'm', key: 'a-3', version: v(250) });
  store.apply(2, put('a-4', 400, 'other'));

  it('replays, per partition, the latest change of each key above its cursor; a partition the cursor omits replays whole', () => {
    const all = { map: 'm', key: null, prefix: null };
    expect(keys(replayChanges(source(store, [1, 2]), all, new Map([[1, 200], [2, 200]])))).toEqual(['1:put:a-1', '2:delete:a-3']);
    expect(keys(replayChanges(source(store, [1, 2]), all, new Map([[1, 200]])))).toEqual(['1:put:a-1', '2:delete:a-3', '2:put:a-2']);
    expect(keys(replayChanges(source(store, [1, 2]), all, new Map([[1, 300], [2, 250]])))).toEqual([]);
    const latest = replayChanges(source(store, [1]), all, new Map([[1, 0], [2, 999]])).changes.find((c) => c.change.key === 'a-1')!.change;
    expect(latest.kind === 'put' && latest.entry.version.millis).toBe(300);
  });

  it('keeps to the subscription`s key or prefix and map', () => {
    expect(keys(replayChanges(source(store, [1, 2]), { map: 'm', key: null, prefix: 'a-' }, new Map()))).toEqual(['1:put:a-1', '2:delete:a-3', '2:put:a-2']);
    expect(keys(replayChanges(source(store, [1, 2]), { map: 'm', key: 'b-1', prefix: null }, new Map()))).toEqual(['1:put:b-1']);
    expect(keys(replayChanges(source(store, [1, 2]), { map: 'other', key: null, prefix: null }, new Map()))).toEqual(['2:put:a-4']);
  });

  it('gives marks of owned partitions only, and replays nothing for a fresh subscription', () => {
    const r = replayChanges(source(store, [2], { 1: 10, 2: 20 }), { map: 'm', key: null, prefix: null }, null);
    expect(r.marks).toEqual([{ partition: 2, millis: 20, epoch: 12 }]);
    expect(r.changes).toEqual([]);
    expect(r.lost).toEqual([]);
  });

  it('reports partitions whose collected tombstones lie above the cursor', () => {
    const gc = new KvStore({ valueBytesMax: 1024, captureBytesMax: 1 << 20 });
    gc.apply(5, { kind: 'delete', map: 'm', key: 'gone', version: v(500) });
    gc.apply(6, put('kept', 600));
    expect(gc.collectTombstones(1_000)).toBe(1);
    expect(gc.collectedUpTo(5)).toBe(500);
    const all = { map: 'm', key: null, prefix: null };
    expect(replayChanges(source(gc, [5, 6]), all, new Map([[5, 400], [6, 0]])).lost).toEqual([5]);
    expect(replayChanges(source(gc, [5, 6]), all, new Map([[5, 500]])).lost).toEqual([]);
    // A partition the cursor does not list is replayed whole: its collected deletes are lost too.
    expect(replayChanges({ ...source(gc, [5, 6]), held: [5] }, all, new Map()).lost).toEqual([5]);
  });

  it('replays what a split-brain merge stored after the cursor, however old its version, and reports it as the owner`s change', async () => {
    let clock = 1_000;
    const merged: [number, string[], number][] = [];
    const owner = new KvStore({
      valueBytesMax: 1024,
      captureBytesMax: 1 << 20,
      mergeStamp: () => ++clock,
      onMerged: (p, changes, stamp) => void merged.push([p, changes.map((c) => c.key), stamp]),
    });
    owner.apply(3, put('here', 900));
    owner.apply(3, put('both', 950));
    // The other side of the split wrote before this side's cursor was handed out.
    const other = new KvStore({ valueBytesMax: 1024, captureBytesMax: 1 << 20 });
    other.apply(3, put('there', 500));
    other.apply(3, { kind: 'delete', map: 'm', key: 'gone-there', version: v(600) });
    other.apply(3, put('both', 400));
    const all = { map: 'm', key: null, prefix: null };
    const cursor = new Map([[3, 950]]);
    expect(keys(replayChanges(source(owner, [3]), all, cursor))).toEqual([]);
    for await (const chunk of other.exportChunks(3)) owner.merge(3, chunk);
    // The older 'both' lost to this side's: not stored, not reported, not replayed.
    expect(merged).toEqual([[3, ['there', 'gone-there'], 1_001]]);
    expect(keys(replayChanges(source(owner, [3]), all, cursor))).toEqual(['3:delete:gone-there', '3:put:there']);
    // The versions stay the writers': arrival only places them for cursors.
    const there = owner.slot(3, 'm', 'there')!;
    expect([there.version.millis, there.arrived]).toEqual([500, 1_001]);
    // A cursor past the arrival has seen them; a later write replaces the slot and its stamp.
    expect(keys(replayChanges(source(owner, [3]), all, new Map([[3, 1_001]])))).toEqual([]);
    owner.apply(3, put('there', 1_100));
    expect(owner.slot(3, 'm', 'there')!.arrived).toBeUndefined();
    // A merged tombstone lives the TTL from its arrival, not from its old version.
    expect(owner.collectTombstones(1_000)).toBe(0);
    expect(owner.collectTombstones(1_002)).toBe(1);
    expect(owner.collectedUpTo(3)).toBe(1_001);
  });
});

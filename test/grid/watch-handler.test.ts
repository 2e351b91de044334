// The owner's side of the subscription relay, `kv.watch`: a poll is answered at once when
// it has news (changes that advance a cursor, a partition owned elsewhere, a start-live
// cursor), else parked until a write to one of its partitions or its wait's end; parked
// polls are bounded in count and bytes and answered when the service stops; answers are
// bounded in bytes and resume where they stopped; a malformed poll is a typed error.
import { describe, expect, it } from 'vitest';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import { KvStore } from '../../src/grid/kv-store.js';
import type { KvChange, KvVersion } from '../../src/grid/kv-codec.js';
import { KV_WATCH_SERVICE, WATCH_ANSWER_BYTES_MAX, WatchHandler, type WatchLimits } from '../../src/grid/watch-handler.js';
import { decodeWatchAnswer, encodeWatchRequest, WHOLE, type WatchAnswer, type WatchCursor } from '../../src/grid/watch-codec.js';
import { encodeRecords, pack } from '../../src/grid/kv-codec.js';
import { resolveRoutingConfig } from '../../src/sharding/config.js';
import { RequestRouter } from '../../src/sharding/routing.js';
import { HeldTimers } from '../fixtures/timers.js';

const VALUE_BYTES_MAX = 1024 * 1024;

/** Partitions 0 and 1 owned here, 2 elsewhere; the mark is one below the newest stored millis. */
function setUp(limits?: WatchLimits): { store: KvStore; timers: HeldTimers; watch: WatchHandler; put: (p: number, key: string, millis: number, bytes?: number) => void } {
  const store = new KvStore({ valueBytesMax: VALUE_BYTES_MAX, captureBytesMax: 64 * 1024 * 1024 });
  const timers = new HeldTimers();
  const deps = {
    store,
    timers,
    roleOf: (p: number) => (p === 2 ? ('none' as const) : ('owner' as const)),
    markOf: (p: number) => {
      const newest = store.newestMillis(p);
      return newest === undefined ? undefined : newest - 1;
    },
    stopped: () => false,
  };
  const watch = new WatchHandler(deps, limits);
  const put = (p: number, key: string, millis: number, bytes = 1): void => {
    const change: KvChange = { kind: 'put', map: 'm', key, entry: { value: new Uint8Array(bytes), version: { millis, counter: 0, node: 'n1' } } };
    store.apply(p, change);
  };
  return { store, timers, watch, put };
}

function request(cursors: [number, WatchCursor][], waitMs = 5_000, seen: [number, KvVersion][] = []): Uint8Array {
  return encodeWatchRequest({ map: 'm', key: null, prefix: null, cursors: new Map(cursors), seen: new Map(seen), waitMs });
}

async function poll(watch: WatchHandler, payload: Uint8Array): Promise<WatchAnswer> {
  return decodeWatchAnswer(await watch.poll(payload), VALUE_BYTES_MAX);
}

describe('kv.watch', () => {
  it('answers at once with the changes above each cursor, oldest first, and NOT_OWNER parts', async () => {
    const { watch, put } = setUp();
    put(0, 'b', 300);
    put(0, 'a', 200);
    put(0, 'old', 100);
    put(1, 'c', 400);
    const answer = await poll(watch, request([[0, 150], [1, WHOLE], [2, WHOLE]]));
    expect(answer.busy).toBe(false);
    const [p0, p1, p2] = answer.parts;
    expect(p0).toMatchObject({ partition: 0, owned: true, cursor: 299, lost: false });
    expect(p0!.owned && p0!.changes.map((c) => c.key)).toEqual(['a', 'b']);
    expect(p1!.owned && p1!.changes.map((c) => c.key)).toEqual(['c']);
    expect(p2).toEqual({ partition: 2, owned: false });
  });

  it('leaves out the changes at or below the version the caller has seen', async () => {
    const { watch, put } = setUp();
    put(0, 'a', 200);
    put(0, 'b', 200);
    put(0, 'c', 300);
    const seen: KvVersion = { millis: 200, counter: 0, node: 'n1' };
    const part = (await poll(watch, request([[0, 199]], 0, [[0, seen]]))).parts[0]!;
    expect(part.owned && part.changes.map((c) => c.key)).toEqual(['c']);
    expect(part).toMatchObject({ cursor: 299 });
  });

  it("sends a live query's changes as it sees them: matches and leaves above a cursor, matches only for a partition asked whole", async () => {
    const { watch, store } = setUp();
    const put = (p: number, key: string, millis: number, value: unknown): void => {
      store.apply(p, { kind: 'put', map: 'm', key, entry: { value: pack(value), version: { millis, counter: 0, node: 'n1' } } });
    };
    put(0, 'in', 200, { age: 30 });
    put(0, 'out', 210, { age: 3 });
    put(1, 'in1', 220, { age: 40 });
    put(1, 'out1', 230, { age: 4 });
    const payload = encodeWatchRequest({ map: 'm', key: null, prefix: null, cursors: new Map([[0, 100], [1, WHOLE]]), seen: new Map(), waitMs: 0, filter: { op: 'gte', path: 'age', value: 18 } });
    const [p0, p1] = (await poll(watch, payload)).parts;
    expect(p0!.owned && p0!.changes.map((c) => [c.key, c.kind])).toEqual([['in', 'put'], ['out', 'delete']]);
    expect(p1!.owned && p1!.changes.map((c) => [c.key, c.kind])).toEqual([['in1', 'put']]);
    const bad = encodeWatchRequest({ map: 'm', key: null, prefix: null, cursors: new Map([[0, 1]]), seen: new Map(), waitMs: 0, filter: { op: 'nope' } });
    expect(() => watch.poll(bad)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
  });

  it('reports collected deletes once and moves the cursor above them; a write to another map wakes nothing; a stopping node answers busy', async () => {
    const { watch, store, put } = setUp();
    store.apply(0, { kind: 'delete', map: 'm', key: 'gone', version: { millis: 500, counter: 0, node: 'n1' } });
    expect(store.collectTombstones(600)).toBe(1);
    const first = (await poll(watch, request([[0, 100]]))).parts[0]!;
    expect(first).toMatchObject({ lost: true, cursor: 500, changes: [] });
    let second: WatchAnswer | undefined;
    void poll(watch, request([[0, 500]])).then((a) => (second = a));
    // Told of a write to another map of the partition: not this poll's business.
    put(0, 'later', 700);
    watch.onChange(0, 'elsewhere');
    await Promise.resolve();
    expect(second).toBeUndefined();
    const stopping = new WatchHandler({ store, timers: new HeldTimers(), roleOf: () => 'owner', markOf: () => undefined, stopped: () => true });
    expect((await poll(stopping, request([[0, 500]]))).busy).toBe(true);
    watch.stop();
    await waitUntil(() => second !== undefined);
  });

  it('sees data that arrived by migration chunk, not only by writes', async () => {
    const { watch, store } = setUp();
    store.applyChunk(1, encodeRecords([{ map: 'm', key: 'moved', slot: { value: new Uint8Array([1]), version: { millis: 800, counter: 0, node: 'n0' } } }]));
    const part = (await poll(watch, request([[1, WHOLE]]))).parts[0]!;
    expect(part.owned && part.changes.map((c) => c.key)).toEqual(['moved']);
  });

  it('a start-live cursor gets the mark and no changes; an empty partition replays whole', async () => {
    const { watch, put } = setUp();
    put(0, 'a', 200);
    const answer = await poll(watch, request([[0, null], [1, null]]));
    expect(answer.parts).toEqual([
      { partition: 0, owned: true, changes: [], cursor: 199, lost: false, complete: true },
      { partition: 1, owned: true, changes: [], cursor: WHOLE, lost: false, complete: true },
    ]);
  });

  it('parks a poll with nothing new until a write to one of its partitions, or until its wait ends', async () => {
    const { watch, put, timers } = setUp();
    put(0, 'a', 200);
    let answered: WatchAnswer | undefined;
    void poll(watch, request([[0, 199]])).then((a) => (answered = a));
    // 'a' is above the cursor but not below the mark: told again, but not news.
    await Promise.resolve();
    expect(answered).toBeUndefined();
    expect(watch.parkedCount()).toBe(1);
    watch.onChange(1, 'm');
    expect(watch.parkedCount()).toBe(1);
    put(0, 'b', 300);
    watch.onChange(0, 'm');
    await waitUntil(() => answered !== undefined);
    expect(answered!.parts[0]).toMatchObject({ cursor: 299 });
    expect(answered!.parts[0]!.owned && answered!.parts[0]!.changes.map((c) => c.key)).toEqual(['a', 'b']);

    let late: WatchAnswer | undefined;
    void poll(watch, request([[0, 299]], 1_000)).then((a) => (late = a));
    timers.advance(999);
    await Promise.resolve();
    expect(late).toBeUndefined();
    timers.advance(1);
    await waitUntil(() => late !== undefined);
    expect(late!.parts[0]).toMatchObject({ cursor: 299 });
    expect(watch.parkedCount()).toBe(0);
    expect(timers.pending.size).toBe(0);
  });

  it('holds at most its bound of parked polls (count and bytes): past it a poll is answered at once, busy', async () => {
    const { watch } = setUp({ parkedMax: 2, parkedBytesMax: 1024 });
    const waiting = [poll(watch, request([[0, 5]])), poll(watch, request([[1, 5]]))];
    expect(watch.parkedCount()).toBe(2);
    const third = await poll(watch, request([[0, 5]]));
    expect(third.busy).toBe(true);
    expect(watch.counters.busy).toBe(1);
    watch.stop();
    expect((await Promise.all(waiting)).map((a) => a.busy)).toEqual([false, false]);
    expect(watch.parkedCount()).toBe(0);

    const small = setUp({ parkedMax: 100, parkedBytesMax: request([[0, 5]]).byteLength + 1 });
    const one = poll(small.watch, request([[0, 5]]));
    expect((await poll(small.watch, request([[0, 5]]))).busy).toBe(true);
    small.watch.stop();
    expect((await one).busy).toBe(false);
  });

  it('counts what the metrics export: parked polls and their bytes now, polls answered, polls answered busy at the bound', async () => {
    const { watch, put } = setUp({ parkedMax: 2, parkedBytesMax: 1024 });
    const payload = request([[0, 5]]);
    const first = poll(watch, payload);
    expect([watch.parkedCount(), watch.parkedByteCount(), watch.counters.answered]).toEqual([1, payload.byteLength, 0]);
    put(0, 'a', 100);
    watch.onChange(0, 'm');
    expect((await first).busy).toBe(false);
    expect([watch.parkedCount(), watch.parkedByteCount(), watch.counters.answered]).toEqual([0, 0, 1]);

    // Answered at once (news): counted, never parked.
    await poll(watch, request([[0, 5]]));
    expect([watch.parkedCount(), watch.counters.answered]).toEqual([0, 2]);

    const held = [poll(watch, request([[0, 100]])), poll(watch, request([[1, 5]]))];
    expect([watch.parkedCount(), watch.counters.busy]).toEqual([2, 0]);
    expect((await poll(watch, request([[1, 5]]))).busy).toBe(true);
    expect((await poll(watch, request([[1, 5]]))).busy).toBe(true);
    expect([watch.parkedCount(), watch.counters.busy, watch.counters.answered]).toEqual([2, 2, 4]);
    watch.stop();
    await Promise.all(held);
    expect([watch.parkedCount(), watch.parkedByteCount(), watch.counters.answered, watch.counters.polls]).toEqual([0, 0, 6, 6]);
  });

  it('bounds an answer in bytes at a millisecond boundary; the next poll resumes there and nothing is skipped', async () => {
    const { watch, put } = setUp();
    const valueBytes = 100 * 1024;
    const count = 30;
    for (let i = 0; i < count; i++) put(0, `k${i}`, 1_000 + i, valueBytes);
    const seen: string[] = [];
    let cursor: WatchCursor = WHOLE;
    let answers = 0;
    while (seen.length < count) {
      const answer: WatchAnswer = await poll(watch, request([[0, cursor]]));
      const part = answer.parts[0]!;
      if (!part.owned) throw new Error('owned here');
      answers++;
      expect(part.changes.length * valueBytes).toBeLessThanOrEqual(WATCH_ANSWER_BYTES_MAX);
      seen.push(...part.changes.map((c) => c.key));
      expect(part.cursor).toBe(1_000 + seen.length - 1 - (seen.length === count ? 1 : 0));
      expect(part.owned && part.complete).toBe(seen.length === count);
      cursor = part.cursor;
    }
    expect(answers).toBe(3);
    expect(new Set(seen).size).toBe(count);
  });

  it('refuses a malformed poll with FLO_INVALID_ARGUMENT, also through the router', async () => {
    const { watch } = setUp();
    const bad = [pack(['m', null, null, [], 10]), pack(['m', 'k', 'p', [0, 1, null], 10]), pack(['m', null, null, [0, -2, null], 10]), pack(['m', null, null, [0, 1, null], 10 ** 9]), pack(['m', null, null, [0, 1], 10]), pack(['m', null, null, [0, 1, [1, 2]], 10]), pack('nope')];
    for (const payload of bad) expect(() => watch.poll(payload)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    const table = ClusterPartitionTable.fromData({ version: 1, partitionCount: 4, assignments: Array.from({ length: 4 }, (_, partition) => ({ partition, owner: 'n1', backups: [], epoch: 1 })) });
    const router = new RequestRouter({ self: 'n1', config: resolveRoutingConfig(), table: () => table, addressOf: () => undefined, request: () => Promise.reject(new Error('no peers')), readOnly: () => false });
    router.register(watch.handler());
    const reply = await router.serve(undefined, { type: 'ServiceRequest', service: KV_WATCH_SERVICE, partition: 0, opId: 'x/1', forward: false, payload: bad[0]! });
    expect(reply).toMatchObject({ ok: false, errorCode: 'FLO_INVALID_ARGUMENT' });
  });

  it('sends what a split-brain merge stored after the cursor, however old its version, once', async () => {
    const store = new KvStore({ valueBytesMax: VALUE_BYTES_MAX, captureBytesMax: 1 << 20, mergeStamp: () => 1_000 });
    // The owner's marks as its handlers give them: below the newest write, and at a merge's stamp.
    let mark = 0;
    const watch = new WatchHandler({ store, timers: new HeldTimers(), roleOf: () => 'owner', markOf: () => mark, stopped: () => false });
    const put = (key: string, millis: number): void => {
      store.apply(0, { kind: 'put', map: 'm', key, entry: { value: new Uint8Array(1), version: { millis, counter: 0, node: 'n1' } } });
      mark = millis - 1;
    };
    put('a', 500);
    const seen: KvVersion = { millis: 500, counter: 0, node: 'n1' };
    const keysOf = (answer: WatchAnswer): unknown => answer.parts.map((p) => (p.owned ? [p.changes.map((c) => c.key), p.cursor] : 'elsewhere'));
    expect(keysOf(await poll(watch, request([[0, 499]], 0, [[0, seen]])))).toEqual([[[], 499]]);
    // The other side wrote 'b' at 300, below both the cursor and what the relay has seen.
    store.merge(0, encodeRecords([{ map: 'm', key: 'b', slot: { value: new Uint8Array(1), version: { millis: 300, counter: 0, node: 'z' } } }]));
    mark = 1_000;
    // News at once (the mark moved past the cursor), with the merged change.
    expect(keysOf(await poll(watch, request([[0, 499]], 5_000, [[0, seen]])))).toEqual([[['b'], 1_000]]);
    // From the mark on it has been told.
    expect(keysOf(await poll(watch, request([[0, 1_000]], 0, [[0, seen]])))).toEqual([[[], 1_000]]);
    put('c', 1_200);
    expect(keysOf(await poll(watch, request([[0, 1_000]], 0, [[0, seen]])))).toEqual([[['c'], 1_199]]);
  });
});

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await Promise.resolve();
  expect(done()).toBe(true);
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChanges, decodeRecords, encodeValue, type KvChange, type KvVersion } from '../../src/grid/kv-codec.js';
import { KvStore } from '../../src/grid/kv-store.js';
import { MIGRATION_CHUNK_BYTES_MAX } from '../../src/sharding/participant.js';

const v = (millis: number, counter = 0, node = 'n1'): KvVersion => ({ millis, counter, node });
const put = (key: string, value: string, version: KvVersion): KvChange => ({ kind: 'put', key, entry: { value: encodeValue(value), version } });
const del = (key: string, version: KvVersion): KvChange => ({ kind: 'delete', key, version });

function newStore(): KvStore {
  return new KvStore({ valueBytesMax: 1024 * 1024, captureBytesMax: 64 * 1024 * 1024 });
}

async function exportAll(store: KvStore, partition: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.exportChunks(partition)) chunks.push(chunk);
  return chunks;
}

function contents(store: KvStore, partition: number, keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, store.get(partition, k)?.version.millis.toString()]));
}

describe('KvStore: last writer wins', () => {
  it.each<[string, KvChange[], Record<string, number | undefined>]>([
    ['newer put replaces', [put('a', 'x', v(1)), put('a', 'y', v(2))], { a: 2 }],
    ['older put is dropped', [put('a', 'y', v(2)), put('a', 'x', v(1))], { a: 2 }],
    ['counter breaks a millis tie', [put('a', 'x', v(5, 2)), put('a', 'y', v(5, 1))], { a: 5 }],
    ['node id breaks a full tie', [put('a', 'x', v(5, 0, 'n2')), put('a', 'y', v(5, 0, 'n1'))], { a: 5 }],
    ['delete removes an older entry', [put('a', 'x', v(1)), del('a', v(2))], { a: undefined }],
    ['delete keeps a newer entry', [put('a', 'x', v(3)), del('a', v(2))], { a: 3 }],
    ['put after delete', [put('a', 'x', v(1)), del('a', v(2)), put('a', 'z', v(3))], { a: 3 }],
  ])('%s', (_name, changes, expected) => {
    const store = newStore();
    for (const c of changes) store.apply(7, c);
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, store.get(7, k)?.version.millis]))).toEqual(expected);
  });

  it('keeps partitions apart and drops one on finalize(none) or a destination cancel', () => {
    const store = newStore();
    store.apply(1, put('a', 'x', v(1)));
    store.apply(2, put('b', 'x', v(1)));
    store.finalize(1, 'backup');
    expect(store.heldPartitions()).toEqual([1, 2]);
    store.cancel(1, 'source');
    expect(store.partitionSize(1)).toBe(1);
    store.cancel(1, 'destination');
    store.finalize(2, 'none');
    expect(store.size()).toBe(0);
  });
});

describe('KvStore as a migration participant', () => {
  it('exports chunks within the bound that rebuild the partition elsewhere', async () => {
    const source = newStore();
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 200; i++) source.apply(3, put(`k${i}`, big, v(i + 1)));
    const chunks = await exportAll(source, 3);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(MIGRATION_CHUNK_BYTES_MAX);
    const dest = newStore();
    for (const c of chunks) dest.applyChunk(3, c);
    expect(dest.partitionSize(3)).toBe(200);
    expect(decodeRecords(chunks[0]!, 1024 * 1024)[0]!.slot.value).toEqual(encodeValue(big));
    expect(await exportAll(newStore(), 3)).toEqual([]);
  });

  it('never makes a chunk or delta batch larger than the bound (unless one entry alone is)', async () => {
    const entry = fc.record({ key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), size: fc.nat(40_000), millis: fc.nat() });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 60 }), async (entries) => {
        const store = newStore();
        store.beginCapture(0);
        for (const e of entries) store.apply(0, { kind: 'put', key: e.key, entry: { value: new Uint8Array(e.size), version: v(2 ** 40 + e.millis, 65_535, 'node-with-a-long-id') } });
        const batches = [...(await exportAll(store, 0)), ...store.takeDeltas(0)];
        for (const b of batches) expect(b.byteLength).toBeLessThanOrEqual(MIGRATION_CHUNK_BYTES_MAX);
      }),
      { seed: 42, numRuns: 50 },
    );
  });

  it('captures changes only between begin and end, nesting', () => {
    const store = newStore();
    store.apply(1, put('a', 'x', v(1)));
    expect(store.takeDeltas(1)).toEqual([]);
    store.beginCapture(1);
    store.beginCapture(1);
    store.apply(1, put('b', 'x', v(2)));
    store.apply(1, del('a', v(3)));
    store.apply(1, put('b', 'old', v(1)));
    const batches = store.takeDeltas(1);
    expect(batches.flatMap((b) => decodeChanges(b, 1024).map((c) => [c.kind, c.key]))).toEqual([
      ['put', 'b'],
      ['delete', 'a'],
    ]);
    expect(store.takeDeltas(1)).toEqual([]);
    store.endCapture(1);
    store.apply(1, put('c', 'x', v(4)));
    expect(store.takeDeltas(1)).toHaveLength(1);
    store.endCapture(1);
    store.apply(1, put('d', 'x', v(5)));
    expect(store.takeDeltas(1)).toEqual([]);
  });

  it('refuses writes once the capture buffer is full', () => {
    const store = new KvStore({ valueBytesMax: 1024 * 1024, captureBytesMax: 300 * 1024 });
    store.beginCapture(1);
    store.apply(1, put('a', 'x'.repeat(200 * 1024), v(1)));
    expect(() => store.apply(1, put('b', 'x'.repeat(200 * 1024), v(2)))).toThrow(expect.objectContaining({ code: 'FLO_QUEUE_FULL' }));
    expect(store.get(1, 'b')).toBeUndefined();
  });

  it('merges another replica by last writer wins', () => {
    const a = newStore();
    const b = newStore();
    a.apply(1, put('k', 'a', v(5)));
    a.apply(1, put('only-a', 'a', v(1)));
    b.apply(1, put('k', 'b', v(6)));
    b.apply(1, put('only-b', 'b', v(1)));
    return (async () => {
      for (const c of await exportAll(b, 1)) a.merge(1, c);
      expect(contents(a, 1, ['k', 'only-a', 'only-b'])).toEqual({ k: '6', 'only-a': '1', 'only-b': '1' });
    })();
  });

  it('converges: a copy made while writes go on, followed by the captured deltas, equals the source', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const pad = 'x'.repeat(60_000);
    const op = fc.record({ key: fc.constantFrom(...keys), del: fc.boolean(), value: fc.string({ maxLength: 4 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), fc.integer({ min: 0, max: 8 }), async (before, during, splitAt) => {
        const source = newStore();
        let clock = 0;
        const applyOp = (o: { key: string; del: boolean; value: string }): void => {
          clock++;
          // Values of ~60 KB make chunks of about four entries, so writes land mid-export.
          source.apply(0, o.del ? del(o.key, v(clock)) : put(o.key, o.value + pad, v(clock)));
        };
        before.forEach(applyOp);
        source.beginCapture(0);
        const dest = newStore();
        // Interleave: writes land while the export iterates the live map.
        const iterator = source.exportChunks(0)[Symbol.asyncIterator]();
        let applied = false;
        for (let i = 0; ; i++) {
          if (i === splitAt) {
            during.forEach(applyOp);
            applied = true;
          }
          const next = await iterator.next();
          if (next.done === true) break;
          dest.applyChunk(0, next.value);
        }
        if (!applied) during.forEach(applyOp);
        for (const d of source.takeDeltas(0)) dest.applyDelta(0, d);
        expect(contents(dest, 0, keys)).toEqual(contents(source, 0, keys));
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});

describe('KvStore: named maps and tombstones', () => {
  const putIn = (map: string, key: string, value: string, version: KvVersion): KvChange => ({ kind: 'put', map, key, entry: { value: encodeValue(value), version } });
  const delIn = (map: string, key: string, version: KvVersion): KvChange => ({ kind: 'delete', map, key, version });

  it('keeps maps of one partition apart', () => {
    const store = newStore();
    store.apply(1, putIn('users', 'k', 'u', v(1)));
    store.apply(1, putIn('orders', 'k', 'o', v(2)));
    store.apply(1, put('k', 'd', v(3)));
    expect(store.get(1, 'k', 'users')?.value).toEqual(encodeValue('u'));
    expect(store.get(1, 'k', 'orders')?.value).toEqual(encodeValue('o'));
    expect(store.get(1, 'k')?.value).toEqual(encodeValue('d'));
    expect(store.partitionSize(1, 'users')).toBe(1);
    expect(store.partitionSize(1)).toBe(3);
    store.apply(1, delIn('users', 'k', v(4)));
    expect(store.get(1, 'k', 'orders')).toBeDefined();
    expect(store.partitionSize(1)).toBe(2);
    expect(store.tombstones()).toBe(1);
  });

  it('a tombstone refuses an older put, and a newer put replaces it', () => {
    const store = newStore();
    store.apply(1, putIn('m', 'k', 'x', v(1)));
    store.apply(1, delIn('m', 'k', v(5)));
    expect(store.apply(1, putIn('m', 'k', 'late', v(3)))).toBe(false);
    expect(store.get(1, 'k', 'm')).toBeUndefined();
    expect(store.apply(1, putIn('m', 'k', 'new', v(6)))).toBe(true);
    expect(store.get(1, 'k', 'm')?.value).toEqual(encodeValue('new'));
    expect(store.tombstones()).toBe(0);
  });

  it('a delete survives a merge with a replica that still holds the old value, both ways', async () => {
    const a = newStore();
    const b = newStore();
    for (const s of [a, b]) s.apply(1, putIn('m', 'k', 'old', v(1)));
    a.apply(1, delIn('m', 'k', v(2)));
    for (const c of await exportAll(b, 1)) a.merge(1, c);
    expect(a.get(1, 'k', 'm')).toBeUndefined();
    for (const c of await exportAll(a, 1)) b.merge(1, c);
    expect(b.get(1, 'k', 'm')).toBeUndefined();
    // A tombstone also travels with a migration copy.
    const dest = newStore();
    for (const c of await exportAll(a, 1)) dest.applyChunk(1, c);
    dest.apply(1, putIn('m', 'k', 'older', v(1, 5)));
    expect(dest.get(1, 'k', 'm')).toBeUndefined();
  });

  it('collects tombstones older than the cut-off, never live entries, never while a partition is copied', () => {
    const store = newStore();
    store.apply(1, putIn('m', 'live', 'x', v(1)));
    store.apply(1, delIn('m', 'old', v(10)));
    store.apply(1, delIn('m', 'recent', v(100)));
    store.apply(2, delIn('m', 'copied', v(10)));
    store.beginCapture(2);
    expect(store.collectTombstones(50)).toBe(1);
    expect(store.slot(1, 'm', 'old')).toBeUndefined();
    expect(store.slot(1, 'm', 'recent')?.value).toBeNull();
    expect(store.slot(2, 'm', 'copied')?.value).toBeNull();
    expect(store.get(1, 'live', 'm')).toBeDefined();
    store.endCapture(2);
    expect(store.collectTombstones(50)).toBe(1);
    expect(store.tombstones()).toBe(1);
  });

  it('pages entries by key order within a byte budget, skipping tombstones', () => {
    const store = newStore();
    for (const k of ['c', 'a', 'e', 'b', 'd']) store.apply(1, putIn('m', k, 'x'.repeat(100), v(1)));
    store.apply(1, delIn('m', 'b', v(2)));
    const first = store.entriesPage(1, 'm', null, 250);
    expect(first.entries.map(([k]) => k)).toEqual(['a', 'c']);
    expect(first.more).toBe(true);
    const second = store.entriesPage(1, 'm', 'c', 250);
    expect(second.entries.map(([k]) => k)).toEqual(['d', 'e']);
    expect(second.more).toBe(false);
    expect(store.entriesPage(1, 'none', null, 250)).toEqual({ entries: [], more: false });
  });

  it('converges under random puts and deletes merged in any order (seeded)', async () => {
    const op = fc.record({ replica: fc.nat(2), key: fc.constantFrom('a', 'b', 'c'), del: fc.boolean(), millis: fc.nat(50) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const replicas = [newStore(), newStore(), newStore()];
        ops.forEach((o, i) => {
          const version = v(o.millis, i, `n${o.replica}`);
          replicas[o.replica]!.apply(0, o.del ? delIn('m', o.key, version) : putIn('m', o.key, `${i}`, version));
        });
        const merged = [newStore(), newStore()];
        for (const order of [[0, 1, 2], [2, 1, 0]]) {
          const target = merged[order[0] === 0 ? 0 : 1]!;
          for (const r of order) for (const c of await exportAll(replicas[r]!, 0)) target.merge(0, c);
        }
        for (const k of ['a', 'b', 'c']) expect(merged[0]!.slot(0, 'm', k)).toEqual(merged[1]!.slot(0, 'm', k));
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});

// OR-map semantics on the owner's handler, two owners at once as in a split: adds tag each
// value, a remove drops only the adds its owner observed, and after a merge both sides
// hold the union of adds minus the union of observed removes, whatever the interleaving
// (seeded random runs). Also the key and name rules, and the GC of removed adds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HybridLogicalClock } from '../../src/core/hlc.js';
import { partitionOf } from '../../src/core/partition.js';
import { decodeValue, encodeValue, type KvValue } from '../../src/grid/kv-codec.js';
import { resolveKvConfig } from '../../src/grid/kv-config.js';
import { KvHandlers } from '../../src/grid/kv-handler.js';
import { KvStore } from '../../src/grid/kv-store.js';
import { decodeValues } from '../../src/grid/grid-or-map.js';
import { decodeOp, encodeOp, isWriteOp, type KvOp } from '../../src/grid/map-ops.js';
import { checkOrKey, orMapStoreName, routingKeyOf } from '../../src/grid/or-map-keys.js';
import type { KvHandlerDeps } from '../../src/grid/kv-handler.js';

const KEY = 'cart-1';
const P = partitionOf(KEY, 271);
const MAP = 'carts';

/** One owner of partition P: its store, its handler, its clock (advanced by hand). */
class Side {
  readonly store: KvStore;
  private readonly handler;
  private seq = 0;
  now = 1_000;

  constructor(readonly self: string) {
    const hlc = new HybridLogicalClock(self, { now: () => this.now });
    // As in the service: the clock follows versions merged in, so later local writes beat them.
    this.store = new KvStore({ valueBytesMax: 1 << 20, captureBytesMax: 1 << 26, observeVersion: (v) => hlc.receive({ millis: v.millis, counter: v.counter, nodeId: v.node }) });
    const table = { version: 1, partitionCount: 271, backups: () => [], epoch: () => 1, owner: () => self };
    const deps = {
      self,
      table: () => table,
      roleOf: () => 'owner',
      addressOf: () => undefined,
      request: () => Promise.reject(new Error('no peers')),
      flushSealed: () => Promise.resolve(),
      awaitingData: () => false,
      observeTableVersion: () => undefined,
      store: this.store,
      hlc,
      config: resolveKvConfig({}),
    } as unknown as KvHandlerDeps;
    this.handler = new KvHandlers(deps).owner();
  }

  async run(op: KvOp): Promise<Uint8Array | undefined> {
    this.now += 1;
    return this.handler.handle({ type: 'ServiceRequest', service: 'kv', partition: P, opId: `${this.self}/${++this.seq}`, forward: false, payload: encodeOp(op) }, this.self);
  }

  add(value: KvValue): Promise<unknown> {
    return this.run({ op: 'orAdd', map: MAP, key: KEY, value: encodeValue(value) });
  }

  async remove(value: KvValue | null): Promise<number> {
    const answer = await this.run({ op: 'orRemove', map: MAP, key: KEY, value: value === null ? null : encodeValue(value) });
    return decodeValue(answer!) as number;
  }

  async get(): Promise<KvValue[]> {
    return decodeValues(await this.run({ op: 'orGet', map: MAP, key: KEY }));
  }

  async mergeFrom(other: Side): Promise<void> {
    for await (const chunk of other.store.exportChunks(P)) this.store.merge(P, chunk);
  }
}

describe('OR-map on the owner', () => {
  it('holds several values per key; remove drops every add of a value; removeAll drops all', async () => {
    const a = new Side('a');
    await a.add('x');
    await a.add('y');
    await a.add('x');
    expect(await a.get()).toEqual(['x', 'y']);
    expect(await a.remove('x')).toBe(2);
    expect(await a.get()).toEqual(['y']);
    expect(await a.remove('absent')).toBe(0);
    await a.add({ n: 1 });
    expect(await a.remove(null)).toBe(2);
    expect(await a.get()).toEqual([]);
    // Removed adds stay as tombstones until the GC, which drops them past the cut-off.
    expect(a.store.tombstones()).toBe(4);
    expect(a.store.collectTombstones(a.now + 1)).toBe(4);
  });

  it('add wins over a concurrent remove: a split, an add on one side, a remove on the other, a heal', async () => {
    const a = new Side('a');
    const b = new Side('b');
    await a.add('milk');
    await b.mergeFrom(a);
    // The split: b removes the milk it saw; a adds milk again (a new tag b never saw) and eggs.
    expect(await b.remove('milk')).toBe(1);
    await a.add('milk');
    await a.add('eggs');
    await a.mergeFrom(b);
    await b.mergeFrom(a);
    expect(await a.get()).toEqual(['milk', 'eggs']);
    expect(await b.get()).toEqual(['milk', 'eggs']);
  });

  it('converges to the union of adds minus the observed removes, for any interleaving (seeded)', async () => {
    const step = fc.record({ side: fc.integer({ min: 0, max: 1 }), kind: fc.constantFrom('add', 'add', 'remove', 'removeAll', 'sync'), value: fc.constantFrom('p', 'q', 'r') });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const sides = [new Side('a'), new Side('b')];
        // The model: every add's tag, and the tags some remove observed.
        const tags = new Map<string, string>();
        const removed = new Set<string>();
        const seen: Set<string>[] = [new Set(), new Set()];
        let n = 0;
        for (const s of steps) {
          const side = sides[s.side]!;
          if (s.kind === 'add') {
            await side.add(s.value);
            const tag = `t${n++}`;
            tags.set(tag, s.value);
            seen[s.side]!.add(tag);
          } else if (s.kind === 'sync') {
            await sides[1 - s.side]!.mergeFrom(side);
            for (const t of seen[s.side]!) if (!removed.has(t) || seen[1 - s.side]!.has(t)) seen[1 - s.side]!.add(t);
          } else {
            for (const t of seen[s.side]!) if (s.kind === 'removeAll' || tags.get(t) === s.value) removed.add(t);
            await side.remove(s.kind === 'removeAll' ? null : s.value);
          }
        }
        await sides[0]!.mergeFrom(sides[1]!);
        await sides[1]!.mergeFrom(sides[0]!);
        const expected = new Set([...tags].filter(([t]) => !removed.has(t)).map(([, v]) => v));
        const got = [await sides[0]!.get(), await sides[1]!.get()];
        expect(new Set(got[0])).toEqual(expected);
        expect(got[1]).toEqual(got[0]);
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it('checks names and keys, keeps OR-map internals out of LWW ops, and routes stored keys by the user key', () => {
    expect(() => checkOrKey('a\u0000b')).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => checkOrKey('k'.repeat(900))).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(() => orMapStoreName('')).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    const internal = orMapStoreName(MAP);
    expect(() => decodeOp(encodeOp({ op: 'put', map: internal, key: 'k', value: encodeValue(1) }), 1024)).toThrow(expect.objectContaining({ code: 'FLO_INVALID_ARGUMENT' }));
    expect(routingKeyOf(internal, `${KEY}\u0000abc.1.n1`)).toBe(KEY);
    expect(routingKeyOf(MAP, `${KEY}\u0000abc`)).toBe(`${KEY}\u0000abc`);
    expect(isWriteOp(encodeOp({ op: 'orGet', map: MAP, key: KEY }))).toBe(false);
    expect(isWriteOp(encodeOp({ op: 'orAdd', map: MAP, key: KEY, value: encodeValue(1) }))).toBe(true);
    expect(isWriteOp(encodeOp({ op: 'orRemove', map: MAP, key: KEY, value: null }))).toBe(true);
  });
});

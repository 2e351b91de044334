// Contract: reading entities back (load, count, list), states as exact bytes, argument
// checks that reject instead of throwing, and a closed store.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import type { Storage } from '../../src/storage/storage.js';
import { WRITE_BATCH_MAX } from '../../src/storage/validation.js';
import type { ContractContext } from './contract-support.js';
import { bytes, outcome, rejectsWith, write } from './contract-support.js';

function randomBytes(length: number, seed: number): Uint8Array {
  const random = new SeededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = random.int(256);
  return out;
}

async function roundTrip(store: Storage, id: string, state: Uint8Array): Promise<Uint8Array | undefined> {
  const [result] = await store.writeEntities([write({ id, state })]);
  expect(outcome(result!)).toBe('ok:1');
  return (await store.loadEntity('counter', id))?.state;
}

/** Loads, counts, lists, binary states, argument checks, closed stores. */
export function defineReadTests(ctx: ContractContext): void {
  describe('reads and states', () => {
    it('countEntities() counts per type and partition; listEntities() lists ids ascending up to a limit', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.claimPartition(2, 1, 'node-a');
      await store.writeEntities([
        write({ id: 'b' }),
        write({ id: 'a' }),
        write({ id: 'c' }),
        write({ id: 'z', partition: 2 }),
        write({ id: 'q', type: 'account' }),
      ]);
      expect(await store.countEntities()).toEqual([
        { type: 'account', partition: 1, count: 1 },
        { type: 'counter', partition: 1, count: 3 },
        { type: 'counter', partition: 2, count: 1 },
      ]);
      expect(await store.listEntities('counter', 1, 10)).toEqual(['a', 'b', 'c']);
      expect(await store.listEntities('counter', 1, 2)).toEqual(['a', 'b']);
      expect(await store.listEntities('counter', 1, 0)).toEqual([]);
      expect(await store.listEntities('counter', 2, 10)).toEqual(['z']);
      expect(await store.listEntities('account', 2, 10)).toEqual([]);
      expect(await store.listEntities('nothing', 1, 10)).toEqual([]);
    });

    it('ids are listed in code point order, alike in every store', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const ids = ['\u{1F600}', '\uFFFD', 'Z', 'a', 'é', '\u00e9a', 'A', '10', '9'];
      await store.writeEntities(ids.map((id) => write({ id })));
      expect(await store.listEntities('counter', 1, 100)).toEqual(['10', '9', 'A', 'Z', 'a', 'é', 'éa', '\uFFFD', '\u{1F600}']);
    });

    it('states round-trip byte for byte: every byte value, empty, views into larger buffers, Buffers', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const every = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
      expect(await roundTrip(store, 'every', every)).toEqual(every);
      expect(await roundTrip(store, 'empty', new Uint8Array(0))).toEqual(new Uint8Array(0));
      const backing = Uint8Array.from([9, 9, 1, 2, 3, 9, 9]);
      expect(await roundTrip(store, 'view', backing.subarray(2, 5))).toEqual(bytes(1, 2, 3));
      expect(await roundTrip(store, 'buffer', Buffer.from([0, 255, 0]))).toEqual(bytes(0, 255, 0));
      const loaded = await store.loadEntity('counter', 'every');
      expect(loaded!.state).toBeInstanceOf(Uint8Array);
      expect(loaded!.state.byteLength).toBe(512);
    });

    it('a 1 MiB state round-trips', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const big = randomBytes(1024 * 1024, 42);
      const loaded = await roundTrip(store, 'big', big);
      expect(loaded?.byteLength).toBe(big.byteLength);
      expect(Buffer.compare(Buffer.from(loaded!), Buffer.from(big))).toBe(0);
    });

    it('stored states are copies: changing the written or the loaded array changes nothing stored', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const state = bytes(1, 2, 3);
      await store.writeEntities([write({ id: 'x', state })]);
      state[0] = 99;
      const loaded = await store.loadEntity('counter', 'x');
      loaded!.state[1] = 99;
      expect((await store.loadEntity('counter', 'x'))?.state).toEqual(bytes(1, 2, 3));
    });
  });

  describe('arguments and lifecycle', () => {
    it('bad arguments reject with FLO_INVALID_ARGUMENT (never a synchronous throw) and write nothing', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const calls: (() => Promise<unknown>)[] = [
        () => store.loadEntity('', 'x'),
        () => store.loadEntity('counter', ''),
        () => store.loadEntity('counter', 'nul\u0000id'),
        () => store.loadEntity('counter', 'lone\uD800'),
        () => store.claimPartition(-1, 1, 'node-a'),
        () => store.claimPartition(1, 1.5, 'node-a'),
        () => store.claimPartition(1, 2, ''),
        () => store.writeEntities([write({ id: 'ok' }), write({ id: '' })]),
        () => store.writeEntities([write({ id: 'ok' }), write({ id: 'x', expectedVersion: -1 })]),
        () => store.writeEntities([write({ id: 'ok' }), write({ id: 'x', epoch: Number.NaN })]),
        () => store.writeEntities(Array.from({ length: WRITE_BATCH_MAX + 1 }, (_, i) => write({ id: `e${i}` }))),
        () => store.listEntities('counter', 1, -1),
        () => store.listEntities('', 1, 10),
      ];
      for (const call of calls) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call();
        }).not.toThrow();
        await rejectsWith(promise!, 'FLO_INVALID_ARGUMENT');
      }
      expect(await store.countEntities()).toEqual([]);
      expect(await store.fences()).toEqual([{ partition: 1, epoch: 1, owner: 'node-a' }]);
    });

    it('a closed store rejects every call with FLO_STORAGE; close is idempotent', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.close();
      await store.close();
      const calls: (() => Promise<unknown>)[] = [
        () => store.claimPartition(1, 2, 'node-a'),
        () => store.fences(),
        () => store.maxEpoch(),
        () => store.loadEntity('counter', 'x'),
        () => store.writeEntities([write({ id: 'x' })]),
        () => store.writeEntities([]),
        () => store.countEntities(),
        () => store.listEntities('counter', 1, 10),
      ];
      for (const call of calls) {
        let promise: Promise<unknown> | undefined;
        expect(() => {
          promise = call();
        }).not.toThrow();
        const error = await rejectsWith(promise!, 'FLO_STORAGE');
        expect(error.retryable).toBe(true);
      }
    });
  });
}

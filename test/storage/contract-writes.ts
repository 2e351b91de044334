// Contract: entity writes behind the fence, version checks, mixed batches and deletes.
import { describe, expect, it } from 'vitest';
import type { EntityWrite } from '../../src/storage/storage.js';
import type { ContractContext } from './contract-support.js';
import { bytes, outcome, write } from './contract-support.js';

interface FenceCase {
  readonly name: string;
  readonly write: Partial<EntityWrite>;
  readonly expected: string;
}

// The fence of partition 1 is epoch 5 by node-a in every case.
const fenceCases: readonly FenceCase[] = [
  { name: 'at the fence, from its owner', write: { epoch: 5, writer: 'node-a' }, expected: 'ok:1' },
  { name: 'never claimed partition', write: { partition: 2, epoch: 5, writer: 'node-a' }, expected: 'FLO_STALE_EPOCH' },
  { name: 'behind the fence', write: { epoch: 4, writer: 'node-a' }, expected: 'FLO_STALE_EPOCH' },
  { name: 'equal epoch, other writer', write: { epoch: 5, writer: 'node-b' }, expected: 'FLO_STALE_EPOCH' },
  { name: 'ahead of the fence', write: { epoch: 6, writer: 'node-a' }, expected: 'FLO_STALE_EPOCH' },
];

/** Fence checks on writes, versions, batches, deletes. */
export function defineWriteTests(ctx: ContractContext): void {
  describe('writes', () => {
    for (const c of fenceCases) {
      it(`${c.name}: ${c.expected}`, async () => {
        const store = ctx.store();
        await store.claimPartition(1, 5, 'node-a');
        const [result] = await store.writeEntities([write({ id: 'e1', ...c.write })]);
        expect(outcome(result!)).toBe(c.expected);
        const stored = await store.loadEntity('counter', 'e1');
        expect(stored === undefined).toBe(c.expected !== 'ok:1');
      });
    }

    it('a refused write names the fence in its details', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 5, 'node-a');
      const [result] = await store.writeEntities([write({ id: 'e1', epoch: 4 })]);
      expect(result!.ok).toBe(false);
      if (!result!.ok) expect(result!.error.details).toEqual({ partition: 1, epoch: 4, fenceEpoch: 5, fenceOwner: 'node-a' });
    });

    it('versions count up from 1; a wrong expectedVersion is FLO_VERSION_CONFLICT and changes nothing', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      expect((await store.writeEntities([write({ id: 'e1', state: bytes(1) })])).map(outcome)).toEqual(['ok:1']);
      expect((await store.writeEntities([write({ id: 'e1', state: bytes(2), expectedVersion: 1 })])).map(outcome)).toEqual(['ok:2']);
      const [stale] = await store.writeEntities([write({ id: 'e1', state: bytes(3), expectedVersion: 1 })]);
      expect(outcome(stale!)).toBe('FLO_VERSION_CONFLICT');
      if (!stale!.ok) expect(stale!.error.details).toEqual({ type: 'counter', id: 'e1', version: 2, expectedVersion: 1 });
      const [recreate] = await store.writeEntities([write({ id: 'e1', state: bytes(4), expectedVersion: 0 })]);
      if (!recreate!.ok) expect(recreate!.error.details).toEqual({ type: 'counter', id: 'e1', version: 2, expectedVersion: 0 });
      expect(outcome(recreate!)).toBe('FLO_VERSION_CONFLICT');
      const [missing] = await store.writeEntities([write({ id: 'nobody', expectedVersion: 4 })]);
      expect(outcome(missing!)).toBe('FLO_VERSION_CONFLICT');
      expect(await store.loadEntity('counter', 'e1')).toEqual({ type: 'counter', id: 'e1', partition: 1, state: bytes(2), version: 2 });
      expect(await store.loadEntity('counter', 'nobody')).toBeUndefined();
    });

    it('a mixed batch applies the allowed writes, refuses the others, and answers in order', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 2, 'node-a');
      await store.claimPartition(2, 1, 'node-b');
      await store.writeEntities([write({ id: 'existing', epoch: 2 })]);
      const results = await store.writeEntities([
        write({ id: 'a', epoch: 2, state: bytes(10) }),
        write({ id: 'b', epoch: 1, state: bytes(11) }),
        write({ id: 'existing', epoch: 2, state: bytes(12), expectedVersion: 0 }),
        write({ id: 'c', partition: 2, epoch: 1, writer: 'node-a', state: bytes(13) }),
        write({ id: 'd', partition: 3, epoch: 1, state: bytes(14) }),
        write({ id: 'e', partition: 2, epoch: 1, writer: 'node-b', state: bytes(15) }),
        write({ id: 'existing', epoch: 2, state: bytes(16), expectedVersion: 1 }),
      ]);
      expect(results.map(outcome)).toEqual(['ok:1', 'FLO_STALE_EPOCH', 'FLO_VERSION_CONFLICT', 'FLO_STALE_EPOCH', 'FLO_STALE_EPOCH', 'ok:1', 'ok:2']);
      expect((await store.loadEntity('counter', 'a'))?.state).toEqual(bytes(10));
      expect(await store.loadEntity('counter', 'b')).toBeUndefined();
      expect(await store.loadEntity('counter', 'c')).toBeUndefined();
      expect(await store.loadEntity('counter', 'd')).toBeUndefined();
      expect(await store.loadEntity('counter', 'e')).toEqual({ type: 'counter', id: 'e', partition: 2, state: bytes(15), version: 1 });
      expect(await store.loadEntity('counter', 'existing')).toEqual({ type: 'counter', id: 'existing', partition: 1, state: bytes(16), version: 2 });
    });

    it('a batch of distinct entities mixing creates, updates, deletes and refusals answers each in order', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 2, 'node-a');
      await store.writeEntities([write({ id: 'kept', epoch: 2 }), write({ id: 'dropped', epoch: 2 }), write({ id: 'stale', epoch: 2 })]);
      const results = await store.writeEntities([
        write({ id: 'new', epoch: 2, state: bytes(1) }),
        write({ id: 'kept', epoch: 2, state: bytes(2), expectedVersion: 1 }),
        write({ id: 'dropped', epoch: 2, state: undefined, expectedVersion: 1 }),
        write({ id: 'never', epoch: 2, state: undefined, expectedVersion: 0 }),
        write({ id: 'stale', epoch: 2, state: bytes(3), expectedVersion: 0 }),
        write({ id: 'ghost', epoch: 2, state: bytes(4), expectedVersion: 2 }),
        write({ id: 'old-epoch', epoch: 1, state: bytes(5) }),
        write({ id: 'unclaimed', partition: 9, epoch: 2, state: bytes(6) }),
      ]);
      expect(results.map(outcome)).toEqual(['ok:1', 'ok:2', 'ok:0', 'ok:0', 'FLO_VERSION_CONFLICT', 'FLO_VERSION_CONFLICT', 'FLO_STALE_EPOCH', 'FLO_STALE_EPOCH']);
      expect(await store.loadEntity('counter', 'new')).toEqual({ type: 'counter', id: 'new', partition: 1, state: bytes(1), version: 1 });
      expect(await store.loadEntity('counter', 'kept')).toEqual({ type: 'counter', id: 'kept', partition: 1, state: bytes(2), version: 2 });
      expect(await store.loadEntity('counter', 'dropped')).toBeUndefined();
      expect(await store.loadEntity('counter', 'never')).toBeUndefined();
      expect((await store.loadEntity('counter', 'stale'))?.version).toBe(1);
      for (const id of ['ghost', 'old-epoch', 'unclaimed']) expect(await store.loadEntity('counter', id)).toBeUndefined();
    });

    it('writes of one entity in one batch apply in order', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      const results = await store.writeEntities([
        write({ id: 'x', state: bytes(1), expectedVersion: 0 }),
        write({ id: 'x', state: bytes(2), expectedVersion: 1 }),
        write({ id: 'x', state: bytes(9), expectedVersion: 1 }),
        write({ id: 'x', state: bytes(3), expectedVersion: 2 }),
        write({ id: 'x', state: undefined, expectedVersion: 3 }),
        write({ id: 'x', state: bytes(4), expectedVersion: 0 }),
      ]);
      expect(results.map(outcome)).toEqual(['ok:1', 'ok:2', 'FLO_VERSION_CONFLICT', 'ok:3', 'ok:0', 'ok:1']);
      expect(await store.loadEntity('counter', 'x')).toEqual({ type: 'counter', id: 'x', partition: 1, state: bytes(4), version: 1 });
    });

    it('a delete removes the record (version 0); a later write starts again at 1', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.writeEntities([write({ id: 'x' }), write({ id: 'y' })]);
      const [deleted] = await store.writeEntities([write({ id: 'x', state: undefined, expectedVersion: 1 })]);
      expect(outcome(deleted!)).toBe('ok:0');
      expect(await store.loadEntity('counter', 'x')).toBeUndefined();
      expect(await store.listEntities('counter', 1, 10)).toEqual(['y']);
      const [staleDelete] = await store.writeEntities([write({ id: 'y', state: undefined, expectedVersion: 0 })]);
      expect(outcome(staleDelete!)).toBe('FLO_VERSION_CONFLICT');
      const [fencedDelete] = await store.writeEntities([write({ id: 'y', state: undefined, expectedVersion: 1, writer: 'node-b' })]);
      expect(outcome(fencedDelete!)).toBe('FLO_STALE_EPOCH');
      expect((await store.loadEntity('counter', 'y'))?.version).toBe(1);
      expect((await store.writeEntities([write({ id: 'x', state: bytes(5) })])).map(outcome)).toEqual(['ok:1']);
    });

    it('deleting a missing record at expectedVersion 0 succeeds and stores nothing', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      expect((await store.writeEntities([write({ id: 'ghost', state: undefined })])).map(outcome)).toEqual(['ok:0']);
      expect(await store.countEntities()).toEqual([]);
    });

    it('an empty batch resolves with no results', async () => {
      await expect(ctx.store().writeEntities([])).resolves.toEqual([]);
    });

    it('an entity moved to a new owner is written at the new epoch only', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 1, 'node-a');
      await store.writeEntities([write({ id: 'x', state: bytes(1) })]);
      await store.claimPartition(1, 2, 'node-b');
      const results = await store.writeEntities([
        write({ id: 'x', epoch: 1, writer: 'node-a', state: bytes(2), expectedVersion: 1 }),
        write({ id: 'x', epoch: 2, writer: 'node-b', state: bytes(3), expectedVersion: 1 }),
      ]);
      expect(results.map(outcome)).toEqual(['FLO_STALE_EPOCH', 'ok:2']);
      expect((await store.loadEntity('counter', 'x'))?.state).toEqual(bytes(3));
    });
  });
}

// Contract for durable stores: several store instances on one database behave as the
// processes of one cluster would (the fence holds across them, claims race safely),
// opening races apply each migration once, and a newer schema is refused.
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/storage/migrations.js';
import type { ContractContext } from './contract-support.js';
import { bytes, outcome, rejectsWith, write } from './contract-support.js';

const OPENERS = 6;
const RACED_EPOCHS = 12;

/** Tests that need two stores sharing one database. */
export function defineSharedTests(ctx: ContractContext): void {
  describe('several instances on one database', () => {
    it('the fence holds across instances: B claims epoch 5, A writing at epoch 4 is refused, B\'s state stays', async () => {
      const a = ctx.store();
      const b = await ctx.openAnother();
      await a.claimPartition(9, 4, 'node-a');
      expect((await a.writeEntities([write({ id: 'acct', partition: 9, epoch: 4, writer: 'node-a', state: bytes(1) })])).map(outcome)).toEqual(['ok:1']);
      await b.claimPartition(9, 5, 'node-b');
      // Refused even before the new owner writes anything.
      const [early] = await a.writeEntities([write({ id: 'acct', partition: 9, epoch: 4, writer: 'node-a', state: bytes(2), expectedVersion: 1 })]);
      expect(outcome(early!)).toBe('FLO_STALE_EPOCH');
      expect((await b.writeEntities([write({ id: 'acct', partition: 9, epoch: 5, writer: 'node-b', state: bytes(3), expectedVersion: 1 })])).map(outcome)).toEqual(['ok:2']);
      const [late] = await a.writeEntities([write({ id: 'acct', partition: 9, epoch: 4, writer: 'node-a', state: bytes(4), expectedVersion: 2 })]);
      expect(outcome(late!)).toBe('FLO_STALE_EPOCH');
      expect(await a.loadEntity('counter', 'acct')).toEqual({ type: 'counter', id: 'acct', partition: 9, state: bytes(3), version: 2 });
      expect(await a.fences()).toEqual([{ partition: 9, epoch: 5, owner: 'node-b' }]);
      await rejectsWith(a.claimPartition(9, 4, 'node-a'), 'FLO_STALE_EPOCH');
    });

    it('concurrent claims of one epoch from two instances: exactly one winner per epoch', async () => {
      const a = ctx.store();
      const b = await ctx.openAnother();
      for (let epoch = 1; epoch <= RACED_EPOCHS; epoch++) {
        const outcomes = await Promise.allSettled([a.claimPartition(3, epoch, 'node-a'), b.claimPartition(3, epoch, 'node-b')]);
        const winners = outcomes.filter((o) => o.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') await rejectsWith(Promise.reject(o.reason), 'FLO_STALE_EPOCH');
        const [fence] = await a.fences();
        expect(fence?.epoch).toBe(epoch);
        expect(winners[0]?.status === 'fulfilled' ? winners[0].value : undefined).toEqual(fence);
      }
    });

    it('concurrent writers and a claim: every write is either applied before the claim or refused', async () => {
      const a = ctx.store();
      const b = await ctx.openAnother();
      await a.claimPartition(4, 1, 'node-a');
      const writes = Array.from({ length: 20 }, (_, i) => a.writeEntities([write({ id: `w${i}`, partition: 4, epoch: 1, writer: 'node-a' })]));
      const claim = b.claimPartition(4, 2, 'node-b');
      const results = (await Promise.all(writes)).map((r) => outcome(r[0]!));
      await claim;
      const stored = await b.listEntities('counter', 4, 100);
      const applied = results.flatMap((r, i) => (r === 'ok:1' ? [`w${i}`] : []));
      expect(results.every((r) => r === 'ok:1' || r === 'FLO_STALE_EPOCH')).toBe(true);
      expect(stored).toEqual([...applied].sort());
      const [after] = await a.writeEntities([write({ id: 'late', partition: 4, epoch: 1, writer: 'node-a' })]);
      expect(outcome(after!)).toBe('FLO_STALE_EPOCH');
    });

    it('data survives closing and reopening', async () => {
      const a = ctx.store();
      await a.claimPartition(1, 3, 'node-a');
      await a.writeEntities([write({ id: 'kept', epoch: 3, state: bytes(7, 7) })]);
      await a.close();
      const again = await ctx.openAnother();
      expect(await again.loadEntity('counter', 'kept')).toEqual({ type: 'counter', id: 'kept', partition: 1, state: bytes(7, 7), version: 1 });
      expect(await again.maxEpoch()).toBe(3);
    });
  });

  describe('schema migrations', () => {
    it(`${OPENERS} instances opening a fresh database at once all succeed; each migration is recorded once`, async () => {
      const fresh = await ctx.target.freshDatabase();
      try {
        const stores = await Promise.all(Array.from({ length: OPENERS }, () => fresh.open()));
        try {
          await stores[0]!.claimPartition(1, 1, 'node-a');
          expect(await stores[OPENERS - 1]!.fences()).toEqual([{ partition: 1, epoch: 1, owner: 'node-a' }]);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
        expect(await fresh.recordedMigrations!()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      } finally {
        await fresh.dispose();
      }
    });

    it('a database recording a newer schema version is refused with FLO_STORAGE_SCHEMA', async () => {
      await ctx.db().recordSchemaVersion!(SCHEMA_VERSION + 1);
      const error = await rejectsWith(ctx.db().open(), 'FLO_STORAGE_SCHEMA');
      expect(error.details).toEqual({ schemaVersion: SCHEMA_VERSION + 1, knownVersion: SCHEMA_VERSION });
      expect(error.retryable).toBe(false);
    });

    it('reopening an up-to-date database applies nothing again', async () => {
      await ctx.openAnother();
      await ctx.openAnother();
      expect(await ctx.db().recordedMigrations!()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    });
  });
}

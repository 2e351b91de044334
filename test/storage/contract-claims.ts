// Contract: claiming partitions (the fence only goes up; equal epoch only for the same
// owner), and reading fences back.
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './contract-support.js';
import { rejectsWith } from './contract-support.js';

interface ClaimCase {
  readonly name: string;
  readonly prior: { epoch: number; owner: string } | undefined;
  readonly claim: { epoch: number; owner: string };
  readonly ok: boolean;
}

const claimCases: readonly ClaimCase[] = [
  { name: 'first claim', prior: undefined, claim: { epoch: 1, owner: 'node-a' }, ok: true },
  { name: 'first claim at epoch 0', prior: undefined, claim: { epoch: 0, owner: 'node-a' }, ok: true },
  { name: 'newer epoch, other owner', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 4, owner: 'node-b' }, ok: true },
  { name: 'newer epoch, same owner', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 9, owner: 'node-a' }, ok: true },
  { name: 'same epoch, same owner (repeat)', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 3, owner: 'node-a' }, ok: true },
  { name: 'same epoch, other owner', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 3, owner: 'node-b' }, ok: false },
  { name: 'older epoch, other owner', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 2, owner: 'node-b' }, ok: false },
  { name: 'older epoch, same owner', prior: { epoch: 3, owner: 'node-a' }, claim: { epoch: 1, owner: 'node-a' }, ok: false },
];

/** Claim rules, fences() and maxEpoch(). */
export function defineClaimTests(ctx: ContractContext): void {
  describe('claims', () => {
    for (const c of claimCases) {
      it(`${c.name}: ${c.ok ? 'succeeds' : 'refused with FLO_STALE_EPOCH, details name the fence'}`, async () => {
        const store = ctx.store();
        if (c.prior !== undefined) await store.claimPartition(7, c.prior.epoch, c.prior.owner);
        if (c.ok) {
          await expect(store.claimPartition(7, c.claim.epoch, c.claim.owner)).resolves.toEqual({ partition: 7, ...c.claim });
          expect(await store.fences()).toEqual([{ partition: 7, ...c.claim }]);
        } else {
          const error = await rejectsWith(store.claimPartition(7, c.claim.epoch, c.claim.owner), 'FLO_STALE_EPOCH');
          expect(error.details).toEqual({ partition: 7, epoch: c.claim.epoch, fenceEpoch: c.prior!.epoch, fenceOwner: c.prior!.owner });
          expect(await store.fences()).toEqual([{ partition: 7, ...c.prior }]);
        }
      });
    }

    it('claims asked for together: each gets its own answer, in the order asked for one partition', async () => {
      const store = ctx.store();
      await store.claimPartition(7, 5, 'node-b');
      const many = Array.from({ length: 40 }, (_, i) => store.claimPartition(100 + i, 2, 'node-a'));
      const stale = store.claimPartition(7, 4, 'node-a');
      // Two claims of one partition in the same turn: the second sees the first.
      const lower = store.claimPartition(9, 3, 'node-a');
      const higher = store.claimPartition(9, 6, 'node-c');
      const lowerAgain = store.claimPartition(9, 4, 'node-a');
      expect((await Promise.all(many)).map((f) => f.partition)).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i));
      const error = await rejectsWith(stale, 'FLO_STALE_EPOCH');
      expect(error.details).toEqual({ partition: 7, epoch: 4, fenceEpoch: 5, fenceOwner: 'node-b' });
      await expect(lower).resolves.toEqual({ partition: 9, epoch: 3, owner: 'node-a' });
      await expect(higher).resolves.toEqual({ partition: 9, epoch: 6, owner: 'node-c' });
      await rejectsWith(lowerAgain, 'FLO_STALE_EPOCH');
      const fences = await store.fences();
      expect(fences.find((f) => f.partition === 7)).toEqual({ partition: 7, epoch: 5, owner: 'node-b' });
      expect(fences.find((f) => f.partition === 9)).toEqual({ partition: 9, epoch: 6, owner: 'node-c' });
      expect(fences.filter((f) => f.partition >= 100).length).toBe(40);
    });

    it('partitions are fenced independently', async () => {
      const store = ctx.store();
      await store.claimPartition(1, 10, 'node-a');
      await store.claimPartition(2, 1, 'node-b');
      await expect(store.claimPartition(2, 2, 'node-c')).resolves.toEqual({ partition: 2, epoch: 2, owner: 'node-c' });
    });

    it('fences() lists every claimed partition by partition; maxEpoch() is the highest epoch', async () => {
      const store = ctx.store();
      expect(await store.fences()).toEqual([]);
      expect(await store.maxEpoch()).toBe(0);
      await store.claimPartition(270, 3, 'node-c');
      await store.claimPartition(0, 12, 'node-a');
      await store.claimPartition(5, 7, 'node-b');
      await store.claimPartition(5, 8, 'node-a');
      expect(await store.fences()).toEqual([
        { partition: 0, epoch: 12, owner: 'node-a' },
        { partition: 5, epoch: 8, owner: 'node-a' },
        { partition: 270, epoch: 3, owner: 'node-c' },
      ]);
      expect(await store.maxEpoch()).toBe(12);
    });

    it('epochs beyond 32 bits round-trip', async () => {
      const store = ctx.store();
      const epoch = 2 ** 40 + 3;
      await store.claimPartition(3, epoch, 'node-a');
      expect(await store.maxEpoch()).toBe(epoch);
      expect(await store.fences()).toEqual([{ partition: 3, epoch, owner: 'node-a' }]);
    });
  });
}

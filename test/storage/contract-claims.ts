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

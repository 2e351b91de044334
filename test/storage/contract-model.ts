// Contract, property-based: random sequences of claims and write batches give the same
// outcomes, records and fences on the implementation under test as on the in-memory
// reference store. Each run uses its own partitions and entity type, so runs share one
// database without seeing each other.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { EntityWrite, Storage } from '../../src/storage/storage.js';
import type { ContractContext } from './contract-support.js';
import { outcome } from './contract-support.js';

const PARTITIONS_PER_RUN = 3;
const RUNS = 25;
const IDS = ['x', 'y', 'z'] as const;

type Op =
  | { readonly kind: 'claim'; readonly partition: number; readonly epoch: number; readonly owner: string }
  | { readonly kind: 'write'; readonly writes: readonly Omit<EntityWrite, 'type'>[] };

const owner = fc.constantFrom('node-a', 'node-b');
const partition = fc.integer({ min: 0, max: PARTITIONS_PER_RUN - 1 });
const epoch = fc.integer({ min: 0, max: 4 });
const writeArb = fc.record({
  partition,
  epoch,
  writer: owner,
  id: fc.constantFrom(...IDS),
  state: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
  expectedVersion: fc.integer({ min: 0, max: 3 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('claim' as const), partition, epoch, owner }),
  fc.record({ kind: fc.constant('write' as const), writes: fc.array(writeArb, { minLength: 1, maxLength: 4 }) }),
);

async function apply(store: Storage, op: Op, type: string, base: number): Promise<string> {
  if (op.kind === 'claim') {
    return store.claimPartition(base + op.partition, op.epoch, op.owner).then(
      () => 'ok',
      (error: { code?: string }) => String(error.code),
    );
  }
  const results = await store.writeEntities(op.writes.map((w) => ({ ...w, type, partition: base + w.partition })));
  return results.map(outcome).join(',');
}

/** The implementation agrees with the reference store on random histories. */
export function defineModelTests(ctx: ContractContext): void {
  describe('agreement with the reference store', () => {
    it('random claims and batches: same outcomes, records and fences as MemoryStorage', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          const store = ctx.store();
          const model = new MemoryStorage();
          const type = `model-${run}`;
          const base = run * PARTITIONS_PER_RUN;
          run++;
          for (const op of ops) expect(await apply(store, op, type, base)).toBe(await apply(model, op, type, base));
          for (const id of IDS) expect(await store.loadEntity(type, id)).toEqual(await model.loadEntity(type, id));
          const inRun = (f: { partition: number }): boolean => f.partition >= base && f.partition < base + PARTITIONS_PER_RUN;
          expect((await store.fences()).filter(inRun)).toEqual(await model.fences());
          for (let p = 0; p < PARTITIONS_PER_RUN; p++) {
            expect(await store.listEntities(type, base + p, 10)).toEqual(await model.listEntities(type, base + p, 10));
          }
        }),
        { seed: 42, numRuns: RUNS },
      );
    });
  });
}

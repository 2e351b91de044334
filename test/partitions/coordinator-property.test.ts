// Random joins (over three zones), leaves, suspicions and crashes, with 0 to 3 backups,
// under random message delays and copy times: after quiescence every node holds the same table, balanced over the members
// with the backup count restored; and across every table version any master published,
// epochs never fell, no version was published twice with different content, and no
// partition lost its last live replica to a publish (copy before drop).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId, PartitionTableData } from '../../src/core/model.js';
import { SeededRandom } from '../../src/core/random.js';
import { computeAssignment, NO_OWNER, planRebalance } from '../../src/partitions/index.js';
import { CoordinatorHarness, type PublishedTable } from './coordinator-harness.js';

const P = 31;

type Op =
  | { readonly kind: 'join' }
  | { readonly kind: 'crash' | 'leave' | 'depart' | 'suspect' | 'recover'; readonly pick: number }
  | { readonly kind: 'wait'; readonly ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>({ kind: 'join' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('crash', 'leave', 'depart', 'suspect', 'recover' as const), pick: fc.nat(99) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
);

function replicas(table: PartitionTableData, p: number): NodeId[] {
  const a = table.assignments[p]!;
  return a.owner === NO_OWNER ? [...a.backups] : [a.owner, ...a.backups];
}

/** Epochs monotone, and copy before drop between consecutive versions. */
function checkPublished(h: CoordinatorHarness): void {
  const versions = [...h.published.keys()].sort((a, b) => a - b);
  let previous: PublishedTable | undefined;
  for (const v of versions) {
    const current = h.published.get(v)!;
    if (previous !== undefined) {
      const adjacent = previous.table.version + 1 === v;
      for (let p = 0; p < P; p++) {
        const before = previous.table.assignments[p]!;
        const after = current.table.assignments[p]!;
        expect(after.epoch, `epoch of ${p} at v${v}`).toBeGreaterThanOrEqual(before.epoch);
        if (!adjacent) continue;
        const liveBefore = replicas(previous.table, p).filter((n) => current.live.has(n));
        const liveAfter = replicas(current.table, p).filter((n) => current.live.has(n));
        if (liveBefore.length > 0) expect(liveAfter.length, `partition ${p} lost its replicas at v${v}`).toBeGreaterThan(0);
        if (after.owner !== before.owner && after.owner !== NO_OWNER && liveBefore.length > 0) {
          const copiedTo = current.completedMigrations.map((id) => h.starts.get(id)).filter((s) => s?.partition === p).map((s) => s!.destination);
          expect(replicas(previous.table, p).includes(after.owner) || copiedTo.includes(after.owner), `new owner of ${p} at v${v} had no data`).toBe(true);
        }
      }
    }
    previous = current;
  }
}

function apply(h: CoordinatorHarness, op: Op, nextId: () => NodeId): void {
  const members = h.view.members().filter((m) => h.node(m.nodeId).up);
  const active = members.filter((m) => m.status === 'active');
  const pick = (list: readonly { nodeId: NodeId }[], n: number): NodeId | undefined => list[n % Math.max(1, list.length)]?.nodeId;
  switch (op.kind) {
    case 'join':
      if (members.length < 7) {
        const id = nextId();
        h.join(id, { zone: `z${Number(id.slice(1)) % 3}` });
      }
      return;
    case 'wait':
      h.runFor(op.ms);
      return;
    case 'crash':
      if (active.length > 1) h.crash(pick(members, op.pick)!);
      return;
    case 'leave':
      if (active.length > 1) h.setStatus(pick(active, op.pick)!, 'leaving');
      return;
    case 'depart': {
      const leaving = members.filter((m) => m.status === 'leaving');
      if (leaving.length > 0) h.crash(pick(leaving, op.pick)!);
      return;
    }
    case 'suspect':
      if (active.length > 1) h.setStatus(pick(active, op.pick)!, 'suspect');
      return;
    case 'recover': {
      const suspects = members.filter((m) => m.status === 'suspect');
      if (suspects.length > 0) h.setStatus(pick(suspects, op.pick)!, 'active');
    }
  }
}

describe('PartitionCoordinator: random membership changes', () => {
  it('converges to one balanced table, with monotone epochs and copy before drop throughout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 3 }), fc.array(opArb, { minLength: 1, maxLength: 14 }), (seed, backupCount, ops) => {
        const rng = new SeededRandom(seed);
        const h = new CoordinatorHarness({
          partitionCount: P,
          backupCount,
          delayMs: () => 1 + rng.int(20),
          copyMs: () => 5 + rng.int(100),
        });
        let next = 0;
        const nextId = (): NodeId => `n${next++}`;
        h.join(nextId());
        h.runFor(rng.int(50));
        for (const op of ops) apply(h, op, nextId);
        for (const m of h.view.members()) if (m.status === 'suspect') h.setStatus(m.nodeId, 'active');
        h.settle();

        const master = h.masterNode().coordinator;
        const reference = JSON.stringify(master.table().toData());
        for (const node of h.liveNodes()) expect(JSON.stringify(node.coordinator.table().toData())).toBe(reference);
        const placed = h.view.members().filter((m) => m.status === 'active');
        const ids = new Set(placed.map((m) => m.nodeId));
        const table = master.table();
        for (const a of table.assignments()) {
          expect(ids.has(a.owner), `owner ${a.owner} of ${a.partition}`).toBe(true);
          expect(a.backups.length).toBe(Math.min(backupCount, placed.length - 1));
          for (const b of a.backups) expect(ids.has(b)).toBe(true);
        }
        const current = table.assignments();
        expect(planRebalance(current, computeAssignment(placed, P, backupCount, current))).toEqual([]);
        expect(h.conflicts).toEqual([]);
        checkPublished(h);
      }),
      { seed: 42, numRuns: 80 },
    );
  });
});

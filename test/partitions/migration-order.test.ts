// Migration ordering: copy before drop, promote before the old owner lets go, the
// per-node parallelism bound, and a replay property over random membership changes
// (joins, graceful leaves, crashes handled by promoting backups first) checking that no
// partition ever has fewer live replicas than min(before, after).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import {
  ClusterPartitionTable,
  computeAssignment,
  type MigrationStep,
  orderMigrations,
  planRebalance,
  type ReplicaAssignment,
} from '../../src/partitions/index.js';
import { members, replayWaves } from './fixtures.js';

const entry = (partition: number, owner: string, ...backups: string[]): ReplicaAssignment => ({ partition, owner, backups });

/** `wave:slot:source>destination kind` per step. */
const brief = (waves: MigrationStep[][]): string[] =>
  waves.flatMap((wave, w) => wave.map((s) => `${w}:${s.partition}.${s.replicaIndex}:${s.source ?? '-'}>${s.destination ?? '-'} ${s.kind}`));

function order(current: ReplicaAssignment[], target: ReplicaAssignment[], parallelPerNodeMax = 2): MigrationStep[][] {
  const waves = orderMigrations(planRebalance(current, target), { parallelPerNodeMax });
  replayWaves(current, target, waves, parallelPerNodeMax);
  return waves;
}

describe('orderMigrations', () => {
  it('returns no waves for no moves', () => {
    expect(orderMigrations([])).toEqual([]);
  });

  it('copies to the new backup before promoting and releasing the old owner', () => {
    expect(brief(order([entry(0, 'a', 'b')], [entry(0, 'b', 'c')]))).toEqual(['0:0.1:b>c copy', '1:0.0:a>b promote']);
  });

  it('promotes before demoting, in the same wave and in that order', () => {
    expect(brief(order([entry(0, 'a', 'b')], [entry(0, 'b', 'a')]))).toEqual(['0:0.0:a>b promote', '0:0.1:b>a demote']);
  });

  it('drops a replica only after the copy that replaces it', () => {
    expect(brief(order([entry(0, 'a', 'b', 'c')], [entry(0, 'a', 'd')]))).toEqual(['0:0.1:b>d move', '1:0.2:c>- drop']);
  });

  it('lets the data source go last when every replica is replaced', () => {
    // `a` streams to both new replicas, so its own move waits for the other copy.
    expect(brief(order([entry(0, 'a', 'b')], [entry(0, 'c', 'd')]))).toEqual(['0:0.1:b>d move', '1:0.0:a>c move']);
  });

  it('keeps a new owner\'s copy before the demotion of the old one', () => {
    expect(brief(order([entry(0, 'a')], [entry(0, 'c', 'a')]))).toEqual(['0:0.0:a>c copy', '1:0.1:->a demote']);
  });

  it('spreads a node\'s migrations over waves to respect parallelPerNodeMax', () => {
    const current = [0, 1, 2, 3, 4].map((p) => entry(p, `o${p}`));
    const target = [0, 1, 2, 3, 4].map((p) => entry(p, `o${p}`, 'new'));
    expect(order(current, target, 2)).toHaveLength(3);
    expect(order(current, target, 1)).toHaveLength(5);
    expect(order(current, target, 5)).toHaveLength(1);
  });

  it('has a replay check that catches a drop before its copy and an overloaded node', () => {
    const current = [entry(0, 'a', 'b')];
    const target = [entry(0, 'a', 'c')];
    const [move] = planRebalance(current, target);
    const dropFirst: MigrationStep = { ...move!, kind: 'drop', destination: undefined, needsData: false, wave: 0 };
    const copyLater: MigrationStep = { ...move!, source: undefined, kind: 'copy', releasesSource: false, wave: 1 };
    expect(() => replayWaves(current, target, [[dropFirst], [copyLater]], 2)).toThrow(/below 2/);
    const twoCopies = planRebalance([entry(0, 'a'), entry(1, 'b')], [entry(0, 'a', 'n'), entry(1, 'b', 'n')]).map((m) => ({ ...m, wave: 0 }));
    expect(() => replayWaves([entry(0, 'a'), entry(1, 'b')], [entry(0, 'a', 'n'), entry(1, 'b', 'n')], [twoCopies], 1)).toThrow(/takes part in 2/);
  });

  it('rejects a non-positive parallelPerNodeMax', () => {
    for (const bad of [0, -1, 1.5]) {
      try {
        orderMigrations([], { parallelPerNodeMax: bad });
        expect.unreachable();
      } catch (err) {
        expect(isFlotillaError(err, 'FLO_INVALID_ARGUMENT')).toBe(true);
      }
    }
  });

  it('orders the 3 -> 4 members rebalance of 271 partitions within the bounds', () => {
    const before = computeAssignment(members(3), 271, 1);
    const after = computeAssignment(members(4), 271, 1, before);
    const waves = order(before, after, 2);
    expect(waves.every((w) => w.length > 0)).toBe(true);
    // The joiner receives every copy (67 owners + 67 or 68 backups), two at a time.
    const copies = waves.flat().filter((s) => s.needsData).length;
    expect(waves.length).toBeGreaterThanOrEqual(Math.ceil(copies / 2));
  });
});

describe('orderMigrations under random membership changes (property)', () => {
  type Change = { kind: 'join' } | { kind: 'leave' | 'crash'; pick: number };
  const change: fc.Arbitrary<Change> = fc.oneof(
    fc.constant({ kind: 'join' as const }),
    fc.record({ kind: fc.constantFrom('leave' as const, 'crash' as const), pick: fc.nat(1000) }),
  );

  it('never lowers a partition below min(before, after) live replicas, and ends at the target', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(13, 64, 271),
        fc.nat(3),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(change, { minLength: 1, maxLength: 6 }),
        (partitionCount, backupCount, initial, parallelPerNodeMax, changes) => {
          let next = 0;
          const joiner = (): { nodeId: string } => ({ nodeId: `m${next++}` });
          let live = Array.from({ length: initial }, joiner);
          const table = new ClusterPartitionTable(partitionCount);
          table.applyAssignments(computeAssignment(live, partitionCount, backupCount));
          for (const c of changes) {
            if (c.kind === 'join' || live.length === 1) {
              live = [...live, joiner()];
            } else {
              const gone = live[c.pick % live.length]!.nodeId;
              live = live.filter((m) => m.nodeId !== gone);
              // A crashed node cannot stream data: the master promotes its backups first.
              if (c.kind === 'crash') table.promoteBackups([gone]);
            }
            const current = table.toData().assignments;
            const target = computeAssignment(live, partitionCount, backupCount, current);
            const waves = orderMigrations(planRebalance(current, target), { parallelPerNodeMax });
            replayWaves(current, target, waves, parallelPerNodeMax);
            table.applyAssignments(target);
          }
        },
      ),
      { seed: 42, numRuns: 120 },
    );
  });
});

// Partition table: versions raised once per change, epochs raised on owner changes only,
// failover promotion of the first live backup (and the no-owner marker), per-node
// queries, the data form, and refusing older or epoch-lowering tables.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import type { PartitionTableData } from '../../src/core/model.js';
import { ClusterPartitionTable, computeAssignment, NO_OWNER, type ReplicaAssignment } from '../../src/partitions/index.js';
import { members } from './fixtures.js';

const entry = (partition: number, owner: string, ...backups: string[]): ReplicaAssignment => ({ partition, owner, backups });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isFlotillaError(err) ? err.code : 'other';
  }
  return undefined;
}

/** A 4-partition table at version 1: a owns 0 and 1, b owns 2, c owns 3. */
function smallTable(): ClusterPartitionTable {
  const table = new ClusterPartitionTable(4);
  table.applyAssignments([entry(0, 'a', 'b', 'c'), entry(1, 'a', 'c'), entry(2, 'b', 'a'), entry(3, 'c', 'b')]);
  return table;
}

describe('ClusterPartitionTable', () => {
  it('starts at version 0 with every partition unowned at epoch 0', () => {
    const table = new ClusterPartitionTable();
    expect(table.version).toBe(0);
    expect(table.partitionCount).toBe(271);
    expect(table.owner(0)).toBeUndefined();
    expect(table.unowned()).toHaveLength(271);
    expect(table.epoch(270)).toBe(0);
  });

  it('raises the version once per applied change, and not for a no-op', () => {
    const table = smallTable();
    expect(table.version).toBe(1);
    const same = table.applyAssignments(table.toData().assignments);
    expect(same).toEqual({ changed: false, version: 1, ownerChanged: [] });
    const next = table.applyAssignments([entry(0, 'a', 'c'), entry(1, 'a', 'c'), entry(2, 'b', 'a'), entry(3, 'c', 'b')]);
    expect(next.changed).toBe(true);
    expect(table.version).toBe(2);
  });

  it('raises the epoch of partitions whose owner changed, and only those', () => {
    const table = smallTable();
    expect([0, 1, 2, 3].map((p) => table.epoch(p))).toEqual([1, 1, 1, 1]);
    // Partition 0: backups change only. Partition 2: owner and backup swap. Partition 3: new owner.
    const change = table.applyAssignments([entry(0, 'a', 'c'), entry(1, 'a', 'c'), entry(2, 'a', 'b'), entry(3, 'd', 'b')]);
    expect(change.ownerChanged).toEqual([2, 3]);
    expect([0, 1, 2, 3].map((p) => table.epoch(p))).toEqual([1, 1, 2, 2]);
    expect(table.backups(0)).toEqual(['c']);
  });

  it('ignores epochs given in the input: the table owns them', () => {
    const table = smallTable();
    table.applyAssignments(table.assignments().map((a) => ({ ...a, epoch: 99 })));
    expect(table.epoch(0)).toBe(1);
  });

  it('promotes the first live backup of each partition a dead node owned, at once', () => {
    const table = smallTable();
    const change = table.promoteBackups(['a']);
    expect(change).toEqual({ changed: true, version: 2, ownerChanged: [0, 1] });
    expect(table.assignment(0)).toEqual({ partition: 0, owner: 'b', backups: ['c'], epoch: 2 });
    expect(table.assignment(1)).toEqual({ partition: 1, owner: 'c', backups: [], epoch: 2 });
    // Partition 2 keeps its owner and loses the dead backup; its epoch stays.
    expect(table.assignment(2)).toEqual({ partition: 2, owner: 'b', backups: [], epoch: 1 });
  });

  it('skips dead backups when promoting, and marks partitions with no live backup as unowned', () => {
    const table = smallTable();
    table.promoteBackups(['a', 'b']);
    expect(table.owner(0)).toBe('c');
    expect(table.owner(2)).toBeUndefined();
    expect(table.assignment(2)).toEqual({ partition: 2, owner: NO_OWNER, backups: [], epoch: 2 });
    expect(table.unowned()).toEqual([2]);
    // The next assignment gives it an owner, raising the epoch again.
    const next = computeAssignment([{ nodeId: 'c' }, { nodeId: 'd' }], 4, 1, table.toData());
    table.applyAssignments(next);
    expect(table.owner(2)).toBeDefined();
    expect(table.epoch(2)).toBe(3);
    expect(table.unowned()).toEqual([]);
  });

  it('does nothing (no version change) when no dead node holds anything', () => {
    const table = smallTable();
    expect(table.promoteBackups(['zz'])).toEqual({ changed: false, version: 1, ownerChanged: [] });
  });

  it('agrees with computeAssignment: after failover the promoted owners stay', () => {
    const ms = members(3);
    const table = new ClusterPartitionTable(271);
    table.applyAssignments(computeAssignment(ms, 271, 1));
    const deadOwned = table.partitionsForNode('n001').owned;
    const promoted = table.promoteBackups(['n001']);
    expect(promoted.ownerChanged).toEqual(deadOwned);
    const next = computeAssignment(
      ms.filter((m) => m.nodeId !== 'n001'),
      271,
      1,
      table.toData(),
    );
    expect(table.applyAssignments(next).ownerChanged).toEqual([]);
  });

  it('lists the partitions a node owns and backs up', () => {
    const table = smallTable();
    expect(table.partitionsForNode('a')).toEqual({ owned: [0, 1], backups: [2] });
    expect(table.partitionsForNode('b')).toEqual({ owned: [2], backups: [0, 3] });
    expect(table.partitionsForNode('zz')).toEqual({ owned: [], backups: [] });
  });

  it('round-trips through its data form', () => {
    const table = smallTable();
    table.promoteBackups(['c']);
    const copy = ClusterPartitionTable.fromData(table.toData());
    expect(copy.toData()).toEqual(table.toData());
    expect(copy.version).toBe(table.version);
  });

  it('applyData takes a newer version and refuses an older or equal one', () => {
    const leader = smallTable();
    const follower = ClusterPartitionTable.fromData(leader.toData());
    const old = leader.toData();
    leader.promoteBackups(['a']);
    expect(follower.applyData(leader.toData())).toBe(true);
    expect(follower.toData()).toEqual(leader.toData());
    expect(follower.applyData(old)).toBe(false);
    expect(follower.applyData(leader.toData())).toBe(false);
    expect(follower.version).toBe(2);
    expect(follower.owner(0)).toBe('b');
  });

  it('applyData refuses a table that lowers an epoch or has another partition count', () => {
    const table = smallTable();
    const data = table.toData();
    const lowered: PartitionTableData = { ...data, version: 5, assignments: data.assignments.map((a) => ({ ...a, epoch: 0 })) };
    expect(codeOf(() => table.applyData(lowered))).toBe('FLO_ASSIGNMENT_INVALID');
    expect(codeOf(() => table.applyData({ ...data, version: 5, partitionCount: 5 }))).toBe('FLO_ASSIGNMENT_INVALID');
    expect(table.version).toBe(1);
  });

  it.each([
    { name: 'a partition missing', input: [entry(0, 'a'), entry(1, 'a'), entry(2, 'a')] },
    { name: 'a partition twice', input: [entry(0, 'a'), entry(1, 'a'), entry(2, 'a'), entry(2, 'b')] },
    { name: 'a partition out of range', input: [entry(0, 'a'), entry(1, 'a'), entry(2, 'a'), entry(4, 'a')] },
    { name: 'no owner', input: [entry(0, NO_OWNER), entry(1, 'a'), entry(2, 'a'), entry(3, 'a')] },
    { name: 'owner also a backup', input: [entry(0, 'a', 'a'), entry(1, 'a'), entry(2, 'a'), entry(3, 'a')] },
    { name: 'repeated backup', input: [entry(0, 'a', 'b', 'b'), entry(1, 'a'), entry(2, 'a'), entry(3, 'a')] },
    { name: 'repeated backup after another', input: [entry(0, 'a', 'b', 'c', 'b'), entry(1, 'a'), entry(2, 'a'), entry(3, 'a')] },
    { name: 'an empty backup', input: [entry(0, 'a', NO_OWNER), entry(1, 'a'), entry(2, 'a'), entry(3, 'a')] },
  ])('applyAssignments rejects $name with FLO_ASSIGNMENT_INVALID and changes nothing', ({ input }) => {
    const table = smallTable();
    const before = table.toData();
    expect(codeOf(() => table.applyAssignments(input))).toBe('FLO_ASSIGNMENT_INVALID');
    expect(table.toData()).toEqual(before);
  });

  it('toData is a frozen snapshot: later changes do not show in it', () => {
    const table = smallTable();
    const v1 = table.toData();
    expect(table.toData()).toBe(v1);
    expect(Object.isFrozen(v1) && Object.isFrozen(v1.assignments) && v1.assignments.every((a) => Object.isFrozen(a))).toBe(true);
    const copy = structuredClone(v1);
    table.promoteBackups(['a']);
    expect(v1).toEqual(copy);
    expect(table.toData()).not.toBe(v1);
    expect(table.toData().version).toBe(2);
    expect(table.assignment(0)).toEqual({ partition: 0, owner: 'b', backups: ['c'], epoch: 2 });
  });

  it('hands out its data form frozen to the leaves, even partitions without backups', () => {
    const deeplyFrozen = (value: unknown): boolean =>
      typeof value !== 'object' || value === null || (Object.isFrozen(value) && Object.values(value).every(deeplyFrozen));
    const table = new ClusterPartitionTable(4);
    expect(deeplyFrozen(table.toData())).toBe(true);
    table.applyAssignments([entry(0, 'a'), entry(1, 'a', 'b'), entry(2, 'b'), entry(3, 'b', 'a')]);
    expect(deeplyFrozen(table.toData())).toBe(true);
    table.promoteBackups(['b']);
    expect(deeplyFrozen(table.toData())).toBe(true);
    table.applyData({ ...table.toData(), version: 9, assignments: table.toData().assignments.map((a) => ({ ...a, backups: [...a.backups] })) });
    expect(deeplyFrozen(table.toData())).toBe(true);
  });

  it('shares an unchanged partition entry between versions, and rebuilds a changed one', () => {
    const table = smallTable();
    const before = table.assignments();
    table.promoteBackups(['c']);
    const after = table.assignments();
    expect(after).not.toBe(before);
    // c owns 3 and backs up 1: those change; 0 lists c as its second backup, so it changes too.
    expect([0, 1, 2, 3].filter((p) => after[p] !== before[p])).toEqual([0, 1, 3]);
    expect(after[2]).toBe(before[2]);
    expect(after.map((a) => a.partition)).toEqual([0, 1, 2, 3]);
  });

  it('assignments() returns a new array each call, so a caller may edit it', () => {
    const table = smallTable();
    const edited = table.assignments();
    edited[0] = { partition: 0, owner: 'zz', backups: [], epoch: 9 };
    expect(table.owner(0)).toBe('a');
    expect(table.toData().assignments[0]!.owner).toBe('a');
  });

  it('applyData of a newer version with the same content takes the version and keeps the entries', () => {
    const table = smallTable();
    const before = table.toData();
    expect(table.applyData({ ...before, version: 7 })).toBe(true);
    expect(table.version).toBe(7);
    expect(table.toData()).not.toBe(before);
    expect(table.toData().assignments).toEqual(before.assignments);
    expect(table.assignment(1)).toBe(before.assignments[1]);
  });

  it('rejects bad partition numbers and counts', () => {
    expect(codeOf(() => new ClusterPartitionTable(0))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => smallTable().owner(4))).toBe('FLO_INVALID_ARGUMENT');
    expect(codeOf(() => smallTable().epoch(-1))).toBe('FLO_INVALID_ARGUMENT');
  });

  it('never lowers versions or epochs over a sequence of changes', () => {
    const table = new ClusterPartitionTable(64);
    let ms = members(2);
    let lastVersion = table.version;
    let lastEpochs = table.assignments().map((a) => a.epoch);
    for (let step = 0; step < 8; step++) {
      if (step % 3 === 2) table.promoteBackups([ms[0]!.nodeId]);
      ms = step % 3 === 2 ? ms.slice(1) : members(ms.length + 1);
      table.applyAssignments(computeAssignment(ms, 64, 1, table.toData()));
      expect(table.version).toBeGreaterThan(lastVersion);
      const epochs = table.assignments().map((a) => a.epoch);
      epochs.forEach((e, p) => expect(e).toBeGreaterThanOrEqual(lastEpochs[p]!));
      lastVersion = table.version;
      lastEpochs = epochs;
    }
  });
});

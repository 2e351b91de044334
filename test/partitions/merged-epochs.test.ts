import { describe, expect, it } from 'vitest';
import type { PartitionTableData } from '../../src/core/model.js';
import { ClusterPartitionTable, epochCovers } from '../../src/partitions/partition-table.js';
import { CoordinatorHarness } from './coordinator-harness.js';

describe('epochCovers', () => {
  const cases: [string, number, string, { epoch: number; owner: string }, boolean][] = [
    ['a later epoch', 5, 'a', { epoch: 4, owner: 'b' }, true],
    ['the same epoch and owner', 4, 'a', { epoch: 4, owner: 'a' }, true],
    ['the same epoch, another owner', 4, 'a', { epoch: 4, owner: 'b' }, false],
    ['an earlier epoch', 3, 'a', { epoch: 4, owner: 'a' }, false],
  ];
  for (const [name, epoch, owner, other, covers] of cases) {
    it(`${name}: ${covers ? 'covers' : 'needs a raise'}`, () => {
      expect(epochCovers(epoch, owner, { partition: 0, backups: [], ...other })).toBe(covers);
    });
  }
});

describe('ClusterPartitionTable.raiseEpochsAbove', () => {
  it('raises only the epochs that do not beat the other table, owners unchanged, in one version', () => {
    const table = new ClusterPartitionTable(4);
    table.applyAssignments([0, 1, 2, 3].map((partition) => ({ partition, owner: 'a', backups: [] })));
    const version = table.version;
    const other: PartitionTableData = {
      version: 50,
      partitionCount: 4,
      assignments: [
        { partition: 0, owner: 'x', backups: [], epoch: 7 },
        { partition: 1, owner: 'x', backups: [], epoch: 1 },
        { partition: 2, owner: 'a', backups: [], epoch: 1 },
        { partition: 3, owner: 'x', backups: [], epoch: 0 },
      ],
    };
    const change = table.raiseEpochsAbove(other);
    expect(change).toEqual({ changed: true, version: version + 1, ownerChanged: [] });
    expect([0, 1, 2, 3].map((p) => table.epoch(p))).toEqual([8, 2, 1, 1]);
    expect([0, 1, 2, 3].map((p) => table.owner(p))).toEqual(['a', 'a', 'a', 'a']);
    expect(table.raiseEpochsAbove(other).changed).toBe(false);
    expect(table.raiseEpochsAbove({ ...other, partitionCount: 5 }).changed).toBe(false);
  });
});

describe('a node that merged in reports the table it left', () => {
  it('the master raises its epochs above it, so no epoch of the losing side names another owner', () => {
    const h = new CoordinatorHarness({ partitionCount: 32 });
    h.start(['a', 'b', 'c']);
    h.settle();
    const winner = h.coordinator('a').table().toData();
    // The losing side's table: later epochs on even partitions, equal ones on odd, other owners.
    const loser: PartitionTableData = {
      version: winner.version + 40,
      partitionCount: winner.partitionCount,
      assignments: winner.assignments.map((a) => ({ ...a, owner: 'x', backups: [], epoch: a.epoch + (a.partition % 2 === 0 ? 3 : 0) })),
    };
    h.join('x', {}, loser);
    h.settle();
    // Reported once it held the master's table, and not again once covered.
    const reports = h.delivered.filter((d) => d.message.type === 'MergedTable');
    expect(reports.map((d) => [d.from, d.to])).toEqual([['x', 'a']]);
    for (const id of ['a', 'b', 'c', 'x']) {
      const table = h.coordinator(id).table();
      expect(table.version).toBe(h.coordinator('a').table().version);
      for (const old of loser.assignments) {
        expect(epochCovers(table.epoch(old.partition), table.owner(old.partition) ?? '', old)).toBe(true);
      }
    }
  });

  it('a node that merged in with a covered table reports once (the master learns it started over) and changes no epoch', () => {
    const h = new CoordinatorHarness({ partitionCount: 16 });
    h.start(['a', 'b']);
    h.settle();
    const before = h.coordinator('a').table().toData();
    h.join('c', {}, { ...before, version: before.version });
    h.settle();
    const reports = h.delivered.filter((d) => d.message.type === 'MergedTable');
    expect(reports.map((d) => [d.from, d.to])).toEqual([['c', 'a']]);
    for (const a of before.assignments) expect(h.coordinator('c').table().epoch(a.partition)).toBeLessThanOrEqual(a.epoch + 1);
  });
});

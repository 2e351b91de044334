import { describe, expect, it } from 'vitest';
import type { PartitionTableData } from '../../src/core/model.js';
import { EpochMemory } from '../../src/partitions/epoch-memory.js';
import { MembersView, PartitionCoordinator } from '../../src/partitions/index.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';

const COUNT = 4;

function tableOf(version: number, entries: [owner: string, epoch: number][]): PartitionTableData {
  return { version, partitionCount: COUNT, assignments: entries.map(([owner, epoch], partition) => ({ partition, owner, backups: [], epoch })) };
}

/** A coordinator alone in a view of its own: it masters a fresh table at once. */
function aloneMaster(memory: EpochMemory | undefined, mergedFrom?: PartitionTableData): PartitionCoordinator {
  const c = new PartitionCoordinator({
    self: 'n1',
    now: 0,
    config: { partitionCount: COUNT, backupCount: 0 },
    ...(memory === undefined ? {} : { epochMemory: memory }),
    ...(mergedFrom === undefined ? {} : { mergedFrom }),
  });
  c.onMembersView(new MembersView({ version: 1, members: [{ nodeId: 'n1', address: 'n1:1', joinVersion: 1, status: 'active', incarnation: 1, tags: {} }] }), 0);
  c.tick(1);
  return c;
}

describe('EpochMemory', () => {
  it('keeps, per partition, the claim with the highest epoch of every table recorded', () => {
    const memory = new EpochMemory(COUNT);
    expect(memory.asTable()).toBeUndefined();
    memory.record(tableOf(9, [['a', 5], ['a', 1], ['b', 2], ['', 0]]));
    memory.record(tableOf(3, [['c', 4], ['c', 3], ['b', 2], ['c', 1]]));
    expect([0, 1, 2, 3].map((p) => memory.epochOf(p))).toEqual([5, 3, 2, 1]);
    expect(memory.asTable()).toEqual(tableOf(9, [['a', 5], ['c', 3], ['b', 2], ['c', 1]]));
  });

  it('ignores empty tables and tables of another partition count', () => {
    const memory = new EpochMemory(COUNT);
    memory.record(tableOf(0, [['a', 5], ['a', 5], ['a', 5], ['a', 5]]));
    memory.record({ version: 4, partitionCount: 2, assignments: [] });
    expect(memory.asTable()).toBeUndefined();
    expect(memory.epochOf(0)).toBe(0);
  });

  it('failover and assignment give a new owner an epoch above the floor, at any table version', () => {
    const table = new ClusterPartitionTable(COUNT);
    const floors = [7, 0, 3, 0];
    table.applyAssignments([0, 1, 2, 3].map((partition) => ({ partition, owner: 'a', backups: partition === 0 ? ['b'] : [] })), 0, (p) => floors[p]!);
    expect([0, 1, 2, 3].map((p) => table.epoch(p))).toEqual([8, 1, 4, 1]);
    floors[0] = 20;
    table.promoteBackups(['a'], (p) => floors[p]!);
    expect(table.owner(0)).toBe('b');
    expect(table.epoch(0)).toBe(21);
  });
});

describe('a fresh lineage after a coordinator restart', () => {
  it('without memory, a node that masters a fresh table repeats epochs from 1', () => {
    const c = aloneMaster(undefined);
    expect(c.table().epoch(0)).toBe(1);
  });

  it('with the memory of an earlier lineage, every new owner starts above what the node saw', () => {
    const memory = new EpochMemory(COUNT);
    memory.record(tableOf(12, [['x', 6], ['y', 2], ['x', 9], ['y', 1]]));
    const c = aloneMaster(memory);
    expect(c.isMaster()).toBe(true);
    expect([0, 1, 2, 3].map((p) => c.table().epoch(p))).toEqual([7, 3, 10, 2]);
    // The new lineage's claims are remembered too, for the next restart.
    expect(memory.epochOf(2)).toBe(10);
  });

  it('two restarts in a row: the second coordinator still goes above the first lineage', () => {
    const memory = new EpochMemory(COUNT);
    memory.record(tableOf(30, [['x', 40], ['x', 40], ['x', 40], ['x', 40]]));
    // The first rebuild never received a table (version 0) before the node started over again.
    const first = new PartitionCoordinator({ self: 'n1', now: 0, config: { partitionCount: COUNT, backupCount: 0 }, epochMemory: memory });
    expect(first.table().version).toBe(0);
    const second = aloneMaster(memory, memory.asTable());
    for (let p = 0; p < COUNT; p++) expect(second.table().epoch(p)).toBeGreaterThan(40);
  });
});

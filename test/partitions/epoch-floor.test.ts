import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../src/core/errors.js';
import { resolveCoordinatorConfig } from '../../src/partitions/coordinator-config.js';
import { ClusterPartitionTable } from '../../src/partitions/partition-table.js';
import { CoordinatorHarness } from './coordinator-harness.js';

function assignAll(table: ClusterPartitionTable, owner: (p: number) => string, floor: number): void {
  table.applyAssignments(
    Array.from({ length: table.partitionCount }, (_, partition) => ({ partition, owner: owner(partition), backups: [] })),
    floor,
  );
}

describe('epochFloor', () => {
  it('the first table of a lineage starts every epoch above the floor', () => {
    const table = new ClusterPartitionTable(8);
    assignAll(table, () => 'a', 41);
    for (let p = 0; p < 8; p++) expect(table.epoch(p)).toBe(42);
  });

  it('later tables raise epochs from their predecessor, ignoring the floor', () => {
    const table = new ClusterPartitionTable(8);
    assignAll(table, () => 'a', 10);
    assignAll(table, (p) => (p % 2 === 0 ? 'b' : 'a'), 1_000);
    for (let p = 0; p < 8; p++) expect(table.epoch(p)).toBe(p % 2 === 0 ? 12 : 11);
  });

  it('a fresh cluster formed with a floor publishes epochs above it on every node', () => {
    const h = new CoordinatorHarness({ config: { epochFloor: 500 } });
    h.start(['a', 'b', 'c']);
    h.settle();
    for (const id of ['a', 'b', 'c']) {
      const table = h.coordinator(id).table();
      expect(table.version).toBe(1);
      for (let p = 0; p < table.partitionCount; p++) expect(table.epoch(p)).toBe(501);
    }
  });

  it('is validated as a non-negative integer', () => {
    expect(resolveCoordinatorConfig({ epochFloor: 7 }).epochFloor).toBe(7);
    expect(() => resolveCoordinatorConfig({ epochFloor: -1 })).toThrow(FlotillaError);
    expect(() => resolveCoordinatorConfig({ epochFloor: 1.5 })).toThrow(FlotillaError);
  });
});

// Partition config: defaults, overrides, and range validation with FLO_CONFIG_INVALID.
import { describe, expect, it } from 'vitest';
import { isFlotillaError } from '../../src/core/errors.js';
import { DEFAULT_PARTITION_CONFIG, type PartitionConfig, resolvePartitionConfig } from '../../src/partitions/index.js';

describe('resolvePartitionConfig', () => {
  it('returns the defaults: 271 partitions, 1 backup, 2 parallel migrations per node', () => {
    expect(resolvePartitionConfig()).toEqual({ partitionCount: 271, backupCount: 1, migrationsParallelPerNodeMax: 2 });
    expect(resolvePartitionConfig()).toEqual(DEFAULT_PARTITION_CONFIG);
  });

  it('applies overrides and keeps the rest', () => {
    expect(resolvePartitionConfig({ backupCount: 2 })).toEqual({ ...DEFAULT_PARTITION_CONFIG, backupCount: 2 });
  });

  it.each<[string, Partial<PartitionConfig>]>([
    ['zero partitions', { partitionCount: 0 }],
    ['fractional partitions', { partitionCount: 27.1 }],
    ['too many partitions', { partitionCount: 70_000 }],
    ['negative backups', { backupCount: -1 }],
    ['too many backups', { backupCount: 7 }],
    ['zero parallel migrations', { migrationsParallelPerNodeMax: 0 }],
    ['too many parallel migrations', { migrationsParallelPerNodeMax: 65 }],
  ])('rejects %s with FLO_CONFIG_INVALID', (_, overrides) => {
    try {
      resolvePartitionConfig(overrides);
      expect.unreachable();
    } catch (err) {
      expect(isFlotillaError(err, 'FLO_CONFIG_INVALID')).toBe(true);
    }
  });
});

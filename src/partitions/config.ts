/**
 * Partition layer configuration: one typed defaults object, and the validation every
 * override goes through. The partition count is fixed for the life of a cluster; the
 * others may differ between restarts.
 */
import { FlotillaError } from '../core/errors.js';
import { DEFAULT_BACKUP_COUNT, DEFAULT_PARTITION_COUNT } from '../core/model.js';
import { PARTITION_COUNT_MAX } from '../core/partition.js';

/** Partition layer settings. */
export interface PartitionConfig {
  /**
   * Number of partitions keys hash into (`partitionOf(key) mod partitionCount`).
   * Unit: partitions. Default 271. Every node and client must agree, and it cannot change
   * while the cluster holds data. More partitions balance load more finely across many
   * nodes and make each migration smaller, at the cost of a bigger table and more
   * per-partition overhead. A prime spreads common key shapes evenly. 1..`PARTITION_COUNT_MAX`.
   */
  readonly partitionCount: number;
  /**
   * Backups per partition, in addition to the owner. Unit: replicas. Default 1. Each
   * backup survives one more simultaneous failure and adds one more copy of every write
   * and of memory; capped at run time to (members - 1). 0..`BACKUP_COUNT_MAX`.
   */
  readonly backupCount: number;
  /**
   * Most migration steps one node takes part in at once (as source, destination or
   * data source) within a wave. Unit: steps. Default 2. Higher rebalances faster but
   * takes more bandwidth and CPU from serving traffic. 1..`PARALLEL_MIGRATIONS_PER_NODE_MAX`.
   */
  readonly migrationsParallelPerNodeMax: number;
}


/** Upper bound on `backupCount`: beyond this, replication costs more than it protects. */
export const BACKUP_COUNT_MAX = 6;

/** Upper bound on `migrationsParallelPerNodeMax`. */
export const PARALLEL_MIGRATIONS_PER_NODE_MAX = 64;

/** The defaults. */
export const DEFAULT_PARTITION_CONFIG: PartitionConfig = Object.freeze({
  partitionCount: DEFAULT_PARTITION_COUNT,
  backupCount: DEFAULT_BACKUP_COUNT,
  migrationsParallelPerNodeMax: 2,
});

/**
 * The defaults with `overrides` applied, validated. There is no cross-field rule: a
 * backup count above the member count is legal and capped when assigning, since the
 * member count changes at run time.
 * @throws FlotillaError FLO_CONFIG_INVALID when a field is out of range or not an integer.
 */
export function resolvePartitionConfig(overrides: Partial<PartitionConfig> = {}): PartitionConfig {
  const config: PartitionConfig = {
    partitionCount: overrides.partitionCount ?? DEFAULT_PARTITION_CONFIG.partitionCount,
    backupCount: overrides.backupCount ?? DEFAULT_PARTITION_CONFIG.backupCount,
    migrationsParallelPerNodeMax: overrides.migrationsParallelPerNodeMax ?? DEFAULT_PARTITION_CONFIG.migrationsParallelPerNodeMax,
  };
  checkRange('partitionCount', config.partitionCount, 1, PARTITION_COUNT_MAX);
  checkRange('backupCount', config.backupCount, 0, BACKUP_COUNT_MAX);
  checkRange('migrationsParallelPerNodeMax', config.migrationsParallelPerNodeMax, 1, PARALLEL_MIGRATIONS_PER_NODE_MAX);
  return Object.freeze(config);
}

function checkRange(field: keyof PartitionConfig, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new FlotillaError('FLO_CONFIG_INVALID', `partitions.${field} must be an integer in ${min}..${max}, got ${String(value)}`, { field, value });
  }
}

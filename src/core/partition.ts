/**
 * `partitionOf`: which partition a key lives in. The smart client and every node run this
 * same function, so a key routes to the same partition everywhere; the published test
 * vectors in `docs/partitioning.md` pin it down for other implementations.
 */
import { FlotillaError } from './errors.js';
import { DEFAULT_PARTITION_COUNT } from './model.js';
import { murmur3Utf8 } from './murmur3.js';

/**
 * Largest partition count accepted anywhere (hashing, tables, the wire). A table is sent
 * whole in one frame and every node keeps one entry per partition, so counts far beyond
 * this buy nothing but memory and bandwidth.
 */
export const PARTITION_COUNT_MAX = 65_536;

/** Throws FLO_INVALID_ARGUMENT unless `count` is an integer in [1, PARTITION_COUNT_MAX]. */
export function validatePartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > PARTITION_COUNT_MAX) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `partition count must be an integer in [1, ${PARTITION_COUNT_MAX}]`, { count });
  }
}

/**
 * The partition of `key`: `murmur3_x86_32(utf8(key), seed 0)`, unsigned, modulo `count`.
 * Always an integer in [0, count).
 */
export function partitionOf(key: string, count: number = DEFAULT_PARTITION_COUNT): number {
  if (count !== DEFAULT_PARTITION_COUNT) validatePartitionCount(count);
  return murmur3Utf8(key, 0) % count;
}

/**
 * The KV store's bounds: value size, replication wait, migration capture budget. One
 * defaults object, validated once when the store is built.
 */
import { PAYLOAD_BYTES_MAX } from '../protocol/limits.js';
import { checkFields, DAY_MS } from '../sharding/config.js';
import { MIGRATION_CHUNK_BYTES_MAX } from '../sharding/participant.js';

/** The KV store's bounds. */
export interface KvConfig {
  /** Largest value, encoded, in bytes. Default 1 MiB. Bigger values are refused with FLO_INVALID_ARGUMENT. */
  readonly valueBytesMax: number;
  /**
   * How long the owner waits for each backup to acknowledge a write. Unit: ms. Default
   * 3,000. A write is acknowledged only once every live backup has it.
   */
  readonly replicationTimeoutMs: number;
  /**
   * Bytes of changes one partition records for migrations between two collections.
   * Unit: bytes. Default 64 MiB; past it writes fail with FLO_QUEUE_FULL (retryable).
   */
  readonly captureBytesMax: number;
}

/** The defaults. */
export const DEFAULT_KV_CONFIG: KvConfig = Object.freeze({
  valueBytesMax: 1024 * 1024,
  replicationTimeoutMs: 3_000,
  captureBytesMax: 64 * 1024 * 1024,
});

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveKvConfig(overrides: Partial<KvConfig> = {}): KvConfig {
  const c: KvConfig = { ...DEFAULT_KV_CONFIG, ...overrides };
  checkFields('kv', c, {
    valueBytesMax: [1, PAYLOAD_BYTES_MAX - 4096],
    replicationTimeoutMs: [1, DAY_MS],
    captureBytesMax: [MIGRATION_CHUNK_BYTES_MAX, 16 * 1024 * 1024 * 1024],
  });
  return Object.freeze(c);
}

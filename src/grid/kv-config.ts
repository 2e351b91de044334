/**
 * The map store's bounds: value size, replication mode and wait, copies a write needs,
 * migration capture budget, tombstone lifetime. One defaults object, validated once when the store is built.
 */
import { FlotillaError } from '../core/errors.js';
import { PAYLOAD_BYTES_MAX } from '../protocol/limits.js';
import { checkFields, DAY_MS } from '../sharding/config.js';
import { MIGRATION_CHUNK_BYTES_MAX } from '../sharding/participant.js';
import { BACKUP_COUNT_MAX } from '../partitions/config.js';

/** The map store's bounds. */
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
  /**
   * When a write is acknowledged. 'sync' (default): once the owner and every live backup
   * hold it, so the owner's crash loses no acknowledged write. 'async': once the owner
   * holds it; backups are sent the change without waiting (lower latency, but writes
   * acknowledged in the last moments before an owner's crash can be lost).
   */
  readonly backupMode: 'sync' | 'async';
  /**
   * Fewest nodes that must hold a write, the owner included, for it to be accepted. Unit:
   * nodes. Default 1: a partition that lists no backup (a cluster of one node, a backup
   * that died and whose replacement is still copying) takes writes on its owner alone. At
   * 2 or more, a write whose partition lists fewer backups than this asks is refused with
   * FLO_TOO_FEW_COPIES (retryable, nothing applied), so no acknowledged write lives on one
   * node only, at the price of refusing writes while backups are placed. Needs
   * `backupMode: 'sync'` and at most `partitions.backupCount + 1`. 1..7.
   */
  readonly writeCopiesMin: number;
  /**
   * How long a delete's tombstone is kept. Unit: ms. Default 86,400,000 (one day). A
   * delete survives a split-brain merge when the split heals within it; past it, a
   * replica that still holds the old value can bring the key back. Longer costs memory
   * per deleted key (its key and version).
   */
  readonly tombstoneTtlMs: number;
  /** How often tombstones older than `tombstoneTtlMs` are collected. Unit: ms. Default 60,000. */
  readonly tombstoneGcIntervalMs: number;
}

/** The defaults. */
export const DEFAULT_KV_CONFIG: KvConfig = Object.freeze({
  valueBytesMax: 1024 * 1024,
  replicationTimeoutMs: 3_000,
  captureBytesMax: 64 * 1024 * 1024,
  backupMode: 'sync',
  writeCopiesMin: 1,
  tombstoneTtlMs: 86_400_000,
  tombstoneGcIntervalMs: 60_000,
});

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveKvConfig(overrides: Partial<KvConfig> = {}): KvConfig {
  const c: KvConfig = { ...DEFAULT_KV_CONFIG, ...overrides };
  const { backupMode, ...numbers } = c;
  checkFields('kv', numbers, {
    valueBytesMax: [1, PAYLOAD_BYTES_MAX - 4096],
    replicationTimeoutMs: [1, DAY_MS],
    captureBytesMax: [MIGRATION_CHUNK_BYTES_MAX, 16 * 1024 * 1024 * 1024],
    writeCopiesMin: [1, BACKUP_COUNT_MAX + 1],
    tombstoneTtlMs: [1_000, 365 * DAY_MS],
    tombstoneGcIntervalMs: [100, DAY_MS],
  });
  if (backupMode !== 'sync' && backupMode !== 'async') {
    throw new FlotillaError('FLO_CONFIG_INVALID', `kv.backupMode must be 'sync' or 'async'`, { field: 'backupMode', value: String(backupMode) });
  }
  if (c.writeCopiesMin > 1 && backupMode !== 'sync') {
    throw new FlotillaError('FLO_CONFIG_INVALID', `kv.writeCopiesMin above 1 needs kv.backupMode 'sync' (an async backup is not waited for)`, { field: 'writeCopiesMin', value: c.writeCopiesMin });
  }
  return Object.freeze(c);
}

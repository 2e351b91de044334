/**
 * Settings of the partition coordinator: the partition layout (`PartitionConfig`) plus
 * the timings and bounds of running migrations and keeping every node's table fresh.
 * One defaults object, validated once when a coordinator is built.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { NodeId, PartitionTableData } from '../core/model.js';
import type { EpochMemory } from './epoch-memory.js';
import { DEFAULT_PARTITION_CONFIG, resolvePartitionConfig, type PartitionConfig } from './config.js';

/** Partition coordinator settings: the partition layout and the migration machinery. */
export interface CoordinatorConfig extends PartitionConfig {
  /**
   * How long the master waits for a started migration's `MigrateReady` before cancelling
   * it on both sides. Unit: ms. Default 60,000. Shorter gives up sooner on a stuck or
   * slow copy (and retries it); longer lets big partitions copy over slow links.
   */
  readonly migrationTimeoutMs: number;
  /**
   * Pause before a failed or timed-out partition's migrations are started again.
   * Unit: ms. Default 1,000. Shorter recovers sooner from a blip; longer spares a node
   * that keeps failing.
   */
  readonly migrationRetryDelayMs: number;
  /**
   * Failed attempts after which the master stops retrying a partition's migrations until
   * the next members view change (the old layout stays in force, nothing is lost).
   * Unit: attempts. Default 5. Higher keeps trying a flaky node longer.
   */
  readonly migrationAttemptsMax: number;
  /**
   * How long the master holds a partition whose copies are all in place before committing
   * it, so that commits arriving together share one table version and one publish.
   * Unit: ms. Default 0: commit at the next tick, which batches whatever arrived in the
   * same instant. Longer means fewer, bigger publishes and later hand-overs. Below
   * `migrationTimeoutMs`.
   */
  readonly commitCoalesceMs: number;
  /**
   * A node that is not the master asks the master for a newer table this often.
   * Unit: ms. Default 5,000. Heals a missed `PartitionTableUpdate`; shorter heals sooner
   * and costs one small message per node per interval.
   */
  readonly tableRefreshIntervalMs: number;
  /**
   * Least time between two table fetches triggered by hearing of a newer version.
   * Unit: ms. Default 250. Keeps a burst of hints from flooding the master.
   * At most `tableRefreshIntervalMs`.
   */
  readonly tableFetchMinIntervalMs: number;
  /**
   * How long a new master waits for members to report their table versions before it
   * acts on the newest table it has. Unit: ms. Default 2,000. One round trip is enough
   * when everyone answers; the wait only runs out when someone does not. Members that
   * have not answered are asked again every `tableFetchMinIntervalMs` (at least 50 ms),
   * since a member answers only once its own view names the new master. Failover of the
   * old master's partitions waits for this, so keep it short. Below `migrationTimeoutMs`.
   */
  readonly handoverTimeoutMs: number;
  /**
   * Most migrations the master has started and not yet finalized or cancelled, cluster
   * wide. Unit: migrations. Default 512. Bounds the master's bookkeeping; per-node load
   * is bounded by `migrationsParallelPerNodeMax`.
   */
  readonly migrationsInFlightMax: number;
  /**
   * Most migrations one node takes part in at once (including those orphaned by a master
   * change and not yet resolved); more are refused with `MigrateCancel`. Unit:
   * migrations. Default 1,024. At least `migrationsInFlightMax`, so a healthy master never
   * hits it.
   */
  readonly localMigrationsMax: number;
  /** Finished migrations kept for the admin API. Unit: records. Default 256. */
  readonly migrationHistoryMax: number;
  /**
   * Outgoing messages waiting for the driver; on overflow the oldest is dropped and
   * counted (the periodic fetch and migration timeouts recover). Unit: messages.
   * Default 65,536: a table publish to every member of a large cluster fits many times.
   */
  readonly transmitsPendingMax: number;
  /**
   * Events waiting for the driver; on overflow the oldest is dropped and counted.
   * Unit: events. Default 16,384. A driver drains after every call, so this only fills
   * when it does not.
   */
  readonly eventsPendingMax: number;
  /**
   * Epochs of a fresh cluster's first table start above this. Storage fences outlive
   * the cluster, so after a whole-cluster restart the new table's epochs must beat every
   * epoch ever claimed (nodes pass the storage's highest epoch here). Only the master
   * that creates table version 1 uses it; later tables raise epochs from their
   * predecessor's. Unit: epoch. Default 0.
   */
  readonly epochFloor: number;
}

/** The defaults. */
export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = Object.freeze({
  ...DEFAULT_PARTITION_CONFIG,
  migrationTimeoutMs: 60_000,
  migrationRetryDelayMs: 1_000,
  migrationAttemptsMax: 5,
  commitCoalesceMs: 0,
  tableRefreshIntervalMs: 5_000,
  tableFetchMinIntervalMs: 250,
  handoverTimeoutMs: 2_000,
  migrationsInFlightMax: 512,
  localMigrationsMax: 1_024,
  migrationHistoryMax: 256,
  transmitsPendingMax: 65_536,
  eventsPendingMax: 16_384,
  epochFloor: 0,
});

/** Upper bound on every duration field: a day. */
const DURATION_MS_MAX = 86_400_000;
/** Upper bound on every count field. */
const COUNT_MAX = 1_000_000;

type NumericField = Exclude<keyof CoordinatorConfig, keyof PartitionConfig>;

const ranges: Readonly<Record<NumericField, readonly [number, number]>> = {
  migrationTimeoutMs: [1, DURATION_MS_MAX],
  migrationRetryDelayMs: [0, DURATION_MS_MAX],
  migrationAttemptsMax: [1, 1_000],
  commitCoalesceMs: [0, DURATION_MS_MAX],
  tableRefreshIntervalMs: [1, DURATION_MS_MAX],
  tableFetchMinIntervalMs: [0, DURATION_MS_MAX],
  handoverTimeoutMs: [1, DURATION_MS_MAX],
  migrationsInFlightMax: [1, COUNT_MAX],
  localMigrationsMax: [1, COUNT_MAX],
  migrationHistoryMax: [0, COUNT_MAX],
  transmitsPendingMax: [1, COUNT_MAX * 16],
  eventsPendingMax: [1, COUNT_MAX],
  epochFloor: [0, Math.floor(Number.MAX_SAFE_INTEGER / 2)],
};

/**
 * The defaults with `overrides` applied, validated field by field and across fields.
 * @throws FlotillaError FLO_CONFIG_INVALID when a field is out of range or a cross-field
 *   rule fails.
 */
export function resolveCoordinatorConfig(overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  const layout = resolvePartitionConfig(overrides);
  const config = { ...DEFAULT_COORDINATOR_CONFIG, ...overrides, ...layout };
  for (const field of Object.keys(ranges) as NumericField[]) {
    const [min, max] = ranges[field];
    const value = config[field];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `partitions.${field} must be an integer in ${min}..${max}, got ${String(value)}`, { field, value });
    }
  }
  crossCheck(config.tableFetchMinIntervalMs <= config.tableRefreshIntervalMs, 'tableFetchMinIntervalMs must not exceed tableRefreshIntervalMs');
  crossCheck(config.handoverTimeoutMs < config.migrationTimeoutMs, 'handoverTimeoutMs must be below migrationTimeoutMs');
  crossCheck(config.commitCoalesceMs < config.migrationTimeoutMs, 'commitCoalesceMs must be below migrationTimeoutMs');
  crossCheck(config.localMigrationsMax >= config.migrationsInFlightMax, 'localMigrationsMax must be at least migrationsInFlightMax');
  return Object.freeze(config);
}

function crossCheck(ok: boolean, rule: string): void {
  if (!ok) throw new FlotillaError('FLO_CONFIG_INVALID', `partitions: ${rule}`);
}

/** How to build a coordinator. */
export interface PartitionCoordinatorOptions {
  /** This node's id. */
  readonly self: NodeId;
  /** Overrides of `DEFAULT_COORDINATOR_CONFIG`. */
  readonly config?: Partial<CoordinatorConfig>;
  /** Time of construction. */
  readonly now: Millis;
  /** A table to start from (from the `JoinResponse` or storage); version 0 (nothing) otherwise. */
  readonly table?: PartitionTableData;
  /** The table this node held in a cluster it left for this one (a split-brain merge); see `MergedEpochs`. */
  readonly mergedFrom?: PartitionTableData;
  /**
   * The claims this node saw under earlier coordinators (kept by the host across merges
   * and lineage changes); this coordinator records into it. A fresh one when absent.
   */
  readonly epochMemory?: EpochMemory;
}

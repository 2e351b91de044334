/**
 * Settings of the sharding layer's data plane: how migrations stream (window, timeouts,
 * catch-up) and how the routing client retries. One defaults object per concept,
 * validated once when the layer is built; the checks are shared with the services'
 * own configs.
 */
import { FlotillaError } from '../core/errors.js';
import { MIGRATION_CHUNK_BYTES_MAX } from './participant.js';

/** How migrations move data between nodes. */
export interface MigrationConfig {
  /**
   * Bytes of `MigrateData` one outgoing migration may have sent and not yet had
   * acknowledged. Unit: bytes. Default 4 MiB (16 chunks). Larger fills fast links
   * better; smaller bounds the memory a migration holds in sockets and on the destination.
   * At least one full chunk (`MIGRATION_CHUNK_BYTES_MAX`).
   */
  readonly windowBytesMax: number;
  /**
   * How long the destination has to acknowledge one `MigrateData`. Unit: ms. Default
   * 10,000. Past it the migration fails and the master retries it later.
   */
  readonly dataRequestTimeoutMs: number;
  /**
   * Rounds of catch-up (sending the changes made while copying) before the source seals
   * the stream anyway. Unit: rounds. Default 8. Each round is shorter than the last
   * unless writes outpace the copy; the seal sends whatever is left at once.
   */
  readonly catchUpRoundsMax: number;
  /**
   * Bytes of captured changes queued for one outgoing migration before it is failed
   * (and retried later). Unit: bytes. Default 64 MiB. Bounds memory when writes outpace
   * the copy. At least `windowBytesMax`.
   */
  readonly pendingDeltaBytesMax: number;
  /**
   * The first `MigrateData` may reach the destination before the master's
   * `MigrateStart` does; it is retried this often. Unit: ms. Default 20.
   */
  readonly startRetryDelayMs: number;
  /** Retries of that first message before the migration fails. Unit: attempts. Default 250 (5 s at the default delay). */
  readonly startRetriesMax: number;
  /** Out-of-order `MigrateData` one incoming migration buffers. Unit: messages. Default 1,024. */
  readonly reorderBufferMax: number;
  /**
   * Finished incoming migrations remembered so changes the source sends after the commit
   * still apply. Unit: migrations. Default 1,024.
   */
  readonly finishedMigrationsMax: number;
  /**
   * How long a source keeps its copy of a partition after its move to a new owner
   * committed. A table in that time from another master (the commit came from a master
   * the cluster had already replaced, and the destination had called the copy off) makes
   * it hand the copy to that table's owner instead. Costs memory: moved data
   * stays on the source that long. 0 turns it off. Unit: ms. Default 15,000.
   */
  readonly movedCopyRetainMs: number;
}

/** The defaults. */
export const DEFAULT_MIGRATION_CONFIG: MigrationConfig = Object.freeze({
  windowBytesMax: 4 * 1024 * 1024,
  dataRequestTimeoutMs: 10_000,
  catchUpRoundsMax: 8,
  pendingDeltaBytesMax: 64 * 1024 * 1024,
  startRetryDelayMs: 20,
  startRetriesMax: 250,
  reorderBufferMax: 1_024,
  finishedMigrationsMax: 1_024,
  movedCopyRetainMs: 15_000,
});

/** How the routing client reaches a partition's owner. */
export interface RoutingConfig {
  /**
   * Total time one operation may take, retries included. Unit: ms. Default 15,000. Long
   * enough to ride out a failover (failure detection plus promotion); shorter fails
   * callers sooner during outages.
   */
  readonly opTimeoutMs: number;
  /** Time for one attempt (one request to one node). Unit: ms. Default 3,000. At most `opTimeoutMs`. */
  readonly attemptTimeoutMs: number;
  /** Attempts per operation. Unit: attempts. Default 200. */
  readonly attemptsMax: number;
  /** First pause between attempts; doubles up to `backoffMaxMs`. Unit: ms. Default 5. */
  readonly backoffInitialMs: number;
  /** Longest pause between attempts. Unit: ms. Default 200. At least `backoffInitialMs`. */
  readonly backoffMaxMs: number;
}

/** The defaults. */
export const DEFAULT_ROUTING_CONFIG: RoutingConfig = Object.freeze({
  opTimeoutMs: 15_000,
  attemptTimeoutMs: 3_000,
  attemptsMax: 200,
  backoffInitialMs: 5,
  backoffMaxMs: 200,
});



export function check(ok: boolean, rule: string, details?: Record<string, unknown>): void {
  if (!ok) throw new FlotillaError('FLO_CONFIG_INVALID', rule, details);
}

export function checkFields<T extends object>(prefix: string, config: T, ranges: Readonly<Record<keyof T, readonly [number, number]>>): void {
  for (const field of Object.keys(ranges) as (keyof T & string)[]) {
    const [min, max] = ranges[field];
    const value = config[field];
    check(typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max, `${prefix}.${field} must be an integer in ${min}..${max}`, {
      field,
      value,
    });
  }
}

export const DAY_MS = 86_400_000;

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveMigrationConfig(overrides: Partial<MigrationConfig> = {}): MigrationConfig {
  const c: MigrationConfig = { ...DEFAULT_MIGRATION_CONFIG, ...overrides };
  checkFields('migration', c, {
    windowBytesMax: [MIGRATION_CHUNK_BYTES_MAX, 1024 * 1024 * 1024],
    dataRequestTimeoutMs: [1, DAY_MS],
    catchUpRoundsMax: [0, 1_000],
    pendingDeltaBytesMax: [MIGRATION_CHUNK_BYTES_MAX, 16 * 1024 * 1024 * 1024],
    startRetryDelayMs: [1, 60_000],
    startRetriesMax: [0, 100_000],
    reorderBufferMax: [1, 1_000_000],
    finishedMigrationsMax: [0, 1_000_000],
    movedCopyRetainMs: [0, 3_600_000],
  });
  check(c.pendingDeltaBytesMax >= c.windowBytesMax, 'migration.pendingDeltaBytesMax must be at least windowBytesMax');
  return Object.freeze(c);
}

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveRoutingConfig(overrides: Partial<RoutingConfig> = {}): RoutingConfig {
  const c: RoutingConfig = { ...DEFAULT_ROUTING_CONFIG, ...overrides };
  checkFields('routing', c, {
    opTimeoutMs: [1, DAY_MS],
    attemptTimeoutMs: [1, DAY_MS],
    attemptsMax: [1, 100_000],
    backoffInitialMs: [0, 60_000],
    backoffMaxMs: [0, 600_000],
  });
  check(c.attemptTimeoutMs <= c.opTimeoutMs, 'routing.attemptTimeoutMs must not exceed opTimeoutMs');
  check(c.backoffMaxMs >= c.backoffInitialMs, 'routing.backoffMaxMs must be at least backoffInitialMs');
  return Object.freeze(c);
}

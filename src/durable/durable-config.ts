/**
 * Durable execution's configuration (workflows, activities, durable timers): one
 * defaults object, each field documented, checked when a node starts.
 */
import { FlotillaError } from '../core/errors.js';

/** Workflow and timer settings of one node. */
export interface DurableConfig {
  /**
   * Most timers an owner keeps in memory: the nearest ones of its partitions. Later timers
   * stay in storage and are read when the window runs dry. Default 1,024. Larger means
   * fewer reads on busy timer sets, smaller bounds memory.
   */
  readonly timerWindowMax: number;
  /** Most due timers fired in one storage transaction. Default 256. */
  readonly timerFireBatchMax: number;
  /**
   * Pause before a timer whose firing failed (storage down, delivery threw) is tried
   * again, ms. Default 1,000.
   */
  readonly timerRetryMs: number;
  /**
   * Most workflow executions running in memory on this node. Starts and recoveries beyond
   * it wait their turn. Default 10,000. Sleeping workflows do not count: they hold no memory.
   */
  readonly workflowsActiveMax: number;
  /** Most callers waiting for one node's workflow results at once; then FLO_QUEUE_FULL. Default 100,000. */
  readonly workflowWaitersMax: number;
  /**
   * How long `workflows.start` waits for the result, ms, across retries at moved owners;
   * then FLO_TIMEOUT (the workflow goes on; start it again with the same id to wait more).
   * Default 60,000.
   */
  readonly workflowWaitMs: number;
  /** Attempts of an activity, the first included, unless it sets its own. Default 3. */
  readonly activityAttemptsMax: number;
  /** Pause before an activity's second attempt, ms; doubles per attempt. Default 100. */
  readonly activityBackoffInitialMs: number;
  /** Cap of the doubling activity pause, ms. Default 10,000. */
  readonly activityBackoffMaxMs: number;
  /** Most durable commits in one storage transaction (group commit). Default 256. */
  readonly commitBatchMax: number;
  /**
   * How long a finished execution (completed or failed) and its journal are kept after it
   * finished, ms; then the partition's owner deletes them, and a start with that id runs
   * anew. 0 keeps them forever. Default 604,800,000 (7 days). Longer keeps results and
   * retries available longer, shorter bounds the storage finished executions take.
   */
  readonly workflowRetentionMs: number;
  /**
   * Most finished executions deleted in one storage transaction; a partition with more
   * takes several, one after the other, so no transaction runs long. Default 256.
   */
  readonly workflowPurgeBatchMax: number;
  /** Pause between two sweeps of the owned partitions for expired executions, ms. Default 60,000. */
  readonly workflowPurgeIntervalMs: number;
}

/** Defaults of every durable-execution setting. */
export const DEFAULT_DURABLE_CONFIG: DurableConfig = {
  timerWindowMax: 1_024,
  timerFireBatchMax: 256,
  timerRetryMs: 1_000,
  workflowsActiveMax: 10_000,
  workflowWaitersMax: 100_000,
  workflowWaitMs: 60_000,
  activityAttemptsMax: 3,
  activityBackoffInitialMs: 100,
  activityBackoffMaxMs: 10_000,
  commitBatchMax: 256,
  workflowRetentionMs: 7 * 24 * 3_600_000,
  workflowPurgeBatchMax: 256,
  workflowPurgeIntervalMs: 60_000,
};

/** Fields that may be 0 (meaning off). */
const ZERO_ALLOWED: ReadonlySet<keyof DurableConfig> = new Set(['workflowRetentionMs']);

/** Merge overrides over the defaults and check every field; throws FLO_CONFIG_INVALID. */
export function resolveDurableConfig(overrides: Partial<DurableConfig> = {}): DurableConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<DurableConfig>;
  const config: DurableConfig = { ...DEFAULT_DURABLE_CONFIG, ...defined };
  for (const [field, value] of Object.entries(config) as [keyof DurableConfig, number][]) {
    const least = ZERO_ALLOWED.has(field) ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `durable.${field} must be ${least === 0 ? 'a non-negative' : 'a positive'} integer`, { [field]: value });
    }
  }
  if (config.activityBackoffInitialMs > config.activityBackoffMaxMs) {
    throw new FlotillaError('FLO_CONFIG_INVALID', 'durable.activityBackoffInitialMs must not exceed durable.activityBackoffMaxMs');
  }
  if (config.commitBatchMax > 4096) throw new FlotillaError('FLO_CONFIG_INVALID', 'durable.commitBatchMax is at most 4,096');
  if (config.workflowPurgeBatchMax > 10_000) throw new FlotillaError('FLO_CONFIG_INVALID', 'durable.workflowPurgeBatchMax is at most 10,000');
  return config;
}

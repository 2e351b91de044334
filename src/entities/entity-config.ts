/**
 * The entity runtime's configuration: one defaults object, each field documented, and
 * the cross-field rules checked when a runtime is built.
 */
import { FlotillaError } from '../core/errors.js';

/** Entity runtime settings of one node. */
export interface EntityConfig {
  /**
   * Most activations held in memory on this node. When reached, the least recently used
   * idle activation is passivated first; when every one is busy, new activations are
   * refused with FLO_QUEUE_FULL. Default 100,000. Higher holds more state in memory
   * (fewer reloads), lower bounds the heap.
   */
  readonly activeEntitiesMax: number;
  /**
   * Calls queued per activation (behind the running one) before FLO_MAILBOX_FULL.
   * Default 1,000. Per-type override: `defineEntity(..., { mailboxCapacityMax })`. Higher
   * absorbs bursts on a hot entity, lower fails fast and bounds memory.
   */
  readonly mailboxCapacityMax: number;
  /**
   * Idle time after which an activation is evicted from memory, ms. Default 60,000.
   * Per-type override: `defineEntity(..., { passivateAfterMs })`. Shorter frees memory
   * sooner at the cost of more reloads from storage.
   */
  readonly passivateAfterMs: number;
  /**
   * How long a caller waits for a call's answer, ms, including retries through
   * migrations and failover; then FLO_TIMEOUT. Default 30,000.
   */
  readonly callTimeoutMs: number;
  /** Longest call chain (A -> B -> C ...) before FLO_CALL_DEPTH. Default 32. */
  readonly callDepthMax: number;
  /**
   * Largest encoded state (entity plus trait slices), bytes; a call that grows it beyond
   * fails with FLO_STATE_TOO_LARGE and nothing is saved. Default 4 MiB.
   */
  readonly stateBytesMax: number;
  /**
   * Most entity writes committed in one storage transaction (group commit). Default
   * 256. Larger batches raise throughput under load; each batch is one commit.
   */
  readonly writeBatchMax: number;
  /**
   * How often idle activations are checked for passivation, ms. Default 1,000. The
   * effective idle time is `passivateAfterMs` up to this much later.
   */
  readonly passivationSweepMs: number;
}

/** Defaults of every entity runtime setting. */
export const DEFAULT_ENTITY_CONFIG: EntityConfig = {
  activeEntitiesMax: 100_000,
  mailboxCapacityMax: 1_000,
  passivateAfterMs: 60_000,
  callTimeoutMs: 30_000,
  callDepthMax: 32,
  stateBytesMax: 4 * 1024 * 1024,
  writeBatchMax: 256,
  passivationSweepMs: 1_000,
};

/** Merge overrides over the defaults and check every field; throws FLO_CONFIG_INVALID. */
export function resolveEntityConfig(overrides: Partial<EntityConfig> = {}): EntityConfig {
  const config: EntityConfig = { ...DEFAULT_ENTITY_CONFIG, ...stripUndefined(overrides) };
  for (const [field, value] of Object.entries(config) as [keyof EntityConfig, number][]) {
    if (!Number.isInteger(value) || value < 1) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `entity.${field} must be a positive integer`, { [field]: value });
    }
  }
  if (config.passivationSweepMs > config.passivateAfterMs) {
    throw new FlotillaError('FLO_CONFIG_INVALID', 'entity.passivationSweepMs must not exceed entity.passivateAfterMs', {
      passivationSweepMs: config.passivationSweepMs,
      passivateAfterMs: config.passivateAfterMs,
    });
  }
  return config;
}

function stripUndefined(overrides: Partial<EntityConfig>): Partial<EntityConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v;
  return out as Partial<EntityConfig>;
}

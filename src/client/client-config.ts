/**
 * The smart client's settings: call deadlines, reconnect backoff, the per-node circuit
 * breaker, when the partition map counts as stale, and the bounds on batching and
 * pending writes. One defaults object, validated when the client is built.
 */
import { FlotillaError } from '../core/errors.js';

/** The smart client's settings. */
export interface ClientConfig {
  /** How long one sent operation may wait for its answer before it is retried elsewhere. Unit: ms. Default 15,000. */
  readonly requestTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt up to `reconnectMaxMs`, with jitter (50-100%). Unit: ms. Default 100. */
  readonly reconnectBaseMs: number;
  /** Longest reconnect delay. Unit: ms. Default 5,000. */
  readonly reconnectMaxMs: number;
  /** Consecutive failures (connects, timeouts) that open a node's circuit breaker. Default 3. */
  readonly breakerFailuresMax: number;
  /** How long an open breaker keeps a node out of routing before one trial. Unit: ms. Default 5,000. */
  readonly breakerCooldownMs: number;
  /** Age after which the partition map counts as stale (`getClusterStats().isStale`). Unit: ms. Default 30,000. */
  readonly staleAfterMs: number;
  /** Operations sent to one node in one BATCH frame, at most. Default 128 (the protocol allows 256). */
  readonly batchOpsMax: number;
  /** Writes waiting for their acknowledgement, at most; past it `set`/`delete` fail with FLO_QUEUE_FULL. Default 100,000. */
  readonly pendingWritesMax: number;
  /** Delay before a retryable failure is retried. Unit: ms. Default 50. */
  readonly retryDelayMs: number;
  /**
   * Keys whose last known value the client keeps (for offline reads and the resync after
   * a reconnect), at most; the least recently written or read go first. Keys with writes
   * still pending are never dropped. Default 10,000.
   */
  readonly cacheKeysMax: number;
}

/** The defaults. */
export const DEFAULT_CLIENT_CONFIG: ClientConfig = Object.freeze({
  requestTimeoutMs: 15_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  breakerFailuresMax: 3,
  breakerCooldownMs: 5_000,
  staleAfterMs: 30_000,
  batchOpsMax: 128,
  pendingWritesMax: 100_000,
  retryDelayMs: 50,
  cacheKeysMax: 10_000,
});

const RANGES: Readonly<Record<keyof ClientConfig, readonly [number, number]>> = {
  requestTimeoutMs: [1, 3_600_000],
  reconnectBaseMs: [1, 600_000],
  reconnectMaxMs: [1, 3_600_000],
  breakerFailuresMax: [1, 1_000],
  breakerCooldownMs: [1, 3_600_000],
  staleAfterMs: [1, 86_400_000],
  batchOpsMax: [1, 256],
  pendingWritesMax: [1, 10_000_000],
  retryDelayMs: [0, 600_000],
  cacheKeysMax: [1, 10_000_000],
};

/** Defaults with `overrides`, validated. @throws FlotillaError FLO_CONFIG_INVALID */
export function resolveClientConfig(overrides: Partial<ClientConfig> = {}): ClientConfig {
  const c: ClientConfig = { ...DEFAULT_CLIENT_CONFIG, ...overrides };
  for (const [field, [min, max]] of Object.entries(RANGES) as [keyof ClientConfig, readonly [number, number]][]) {
    const v = c[field];
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new FlotillaError('FLO_CONFIG_INVALID', `client.${field} must be an integer in ${min}..${max}`, { field, value: v });
  }
  if (c.reconnectMaxMs < c.reconnectBaseMs) throw new FlotillaError('FLO_CONFIG_INVALID', 'client.reconnectMaxMs must be at least reconnectBaseMs');
  return Object.freeze(c);
}

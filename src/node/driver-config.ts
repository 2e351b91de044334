/**
 * Configuration of the node driver's loop: how much work one turn may do before it
 * yields to the event loop, and the bounds of the queues between the sockets, the
 * membership machine and the hosted services. One typed defaults object, checked once.
 */
import { FlotillaError } from '../core/errors.js';

/** Driver settings. Counts are items; durations are milliseconds. */
export interface DriverConfig {
  /**
   * Inbound messages handed to the machine or the services in one turn. Default 256.
   * Larger drains a burst with fewer yields; smaller keeps timers and I/O callbacks
   * responsive while a burst is processed.
   */
  readonly inputsPerTurnMax: number;
  /**
   * Transmits (membership and services together) handed to the transport in one turn.
   * Default 256. What is left waits in the machine's bounded outbox (or the services'
   * outbox) for the next turn, which runs right after the event loop had its go.
   */
  readonly transmitsPerTurnMax: number;
  /** Membership events delivered (broadcast, services, logs) in one turn. Default 1,024. */
  readonly eventsPerTurnMax: number;
  /**
   * Inbound messages waiting for a turn. Default 16,384. When full the oldest is dropped
   * and counted (`inboxDropped`): SWIM tolerates loss, and stale probes are worth less
   * than fresh ones.
   */
  readonly inboxMax: number;
  /** Service transmits waiting for a turn. Default 8,192; the oldest is dropped when full. */
  readonly serviceOutboxMax: number;
  /**
   * A failing destination (a dead peer) logs a warning at most once per error code in
   * this window; every failure is still counted. Default 30,000.
   */
  readonly sendErrorLogIntervalMs: number;
  /** Distinct (destination, code) pairs the rate limiter remembers. Default 4,096. */
  readonly logKeysMax: number;
  /**
   * Longest single timer wait. Default 60,000. The driver re-reads the deadlines at
   * least this often, so a wall-clock jump cannot park the loop for long.
   */
  readonly timerWaitMaxMs: number;
  /**
   * Most service timers pending at once (sleeps, call deadlines, sweeps). Default
   * 1,000,000: about 100 MB at worst. One more is refused with FLO_QUEUE_FULL, which the
   * caller sees as a retryable error instead of the node growing without bound.
   */
  readonly serviceTimersMax: number;
  /** Service timers run per turn at most, so a burst of due timers cannot starve inputs. Default 4,096. */
  readonly timersPerTurnMax: number;
}

/** The defaults, in one place. */
export const DEFAULT_DRIVER_CONFIG: DriverConfig = Object.freeze({
  inputsPerTurnMax: 256,
  transmitsPerTurnMax: 256,
  eventsPerTurnMax: 1_024,
  inboxMax: 16_384,
  serviceOutboxMax: 8_192,
  sendErrorLogIntervalMs: 30_000,
  logKeysMax: 4_096,
  timerWaitMaxMs: 60_000,
  serviceTimersMax: 1_000_000,
  timersPerTurnMax: 4_096,
});

/** Fills in defaults and checks every field (FLO_CONFIG_INVALID). */
export function resolveDriverConfig(overrides: Partial<DriverConfig> = {}): DriverConfig {
  const config: DriverConfig = { ...DEFAULT_DRIVER_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_DRIVER_CONFIG)) throw new FlotillaError('FLO_CONFIG_INVALID', `driver.${key} is not a driver setting`, { key });
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new FlotillaError('FLO_CONFIG_INVALID', `driver.${key} must be a positive integer`, { key, value });
    }
    (config as unknown as Record<string, number>)[key] = value as number;
  }
  return Object.freeze(config);
}

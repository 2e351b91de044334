/**
 * The phi accrual failure detector (Hayashibara et al., 2004, as in Akka and Cassandra):
 * instead of a yes/no verdict it reports phi, how unlikely the current silence is given
 * the recent rhythm of heartbeats, so a jittery link earns more patience than a steady one.
 */
import type { Millis } from '../core/clock.js';
import { assert, FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { FailureDetector } from './failure-detector.js';
import { SampleWindow } from './sample-window.js';

/** Configuration of a `PhiAccrualFailureDetector`. */
export interface PhiAccrualConfig {
  /**
   * Phi at or above which a node counts as dead. Phi = -log10(probability that a heartbeat
   * is still to come), so 8 means "1 in 10^8 chance we are wrong given the history".
   * Default 8. Lower detects sooner but with more false positives on jittery links.
   */
  readonly threshold: number;
  /**
   * Inter-arrival intervals kept per node (a ring buffer; bounds memory to 8 bytes each).
   * Default 100. Larger smooths the estimate but adapts more slowly to a changed rhythm.
   */
  readonly samplesMax: number;
  /**
   * Intervals observed before the node's own history is trusted. Until then phi comes from
   * the bootstrap estimate (`firstHeartbeatEstimateMs`). Default 5; at most `samplesMax`.
   */
  readonly minSamples: number;
  /**
   * Floor (ms) on the standard deviation. Perfectly regular heartbeats would otherwise make
   * the tiniest delay look fatal. Default 100. Larger tolerates more jitter, detects later.
   */
  readonly minStdDeviationMs: number;
  /**
   * Extra pause (ms) added to the expected interval, e.g. to ride out GC pauses or event
   * loop stalls. Default 0 (pure statistics). Larger delays detection by that much.
   */
  readonly acceptableHeartbeatPauseMs: number;
  /**
   * Expected heartbeat interval (ms) used until `minSamples` intervals are observed: the
   * bootstrap distribution has this mean and a quarter of it as standard deviation, so a
   * node that dies after its first heartbeat is still detected. Default 1,000; set it to
   * your heartbeat (probe) interval.
   */
  readonly firstHeartbeatEstimateMs: number;
  /**
   * Longest interval (ms) recorded as a sample. A longer gap measures an outage (a healed
   * partition, a paused process), not the heartbeat rhythm; sampling it would inflate the
   * mean and deviation and slow detection for the next `samplesMax` heartbeats. Default
   * 10,000; must exceed `firstHeartbeatEstimateMs`.
   */
  readonly sampleIntervalMaxMs: number;
}

/** Defaults for `PhiAccrualConfig`. */
export const PHI_ACCRUAL_DEFAULTS: PhiAccrualConfig = {
  threshold: 8,
  samplesMax: 100,
  minSamples: 5,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 0,
  firstHeartbeatEstimateMs: 1_000,
  sampleIntervalMaxMs: 10_000,
};

/** Phi is capped here: far beyond any useful threshold, and never Infinity or NaN. */
export const PHI_MAX = 1_000;

/** Largest `samplesMax` accepted (per-node memory is 8 bytes per sample). */
export const PHI_SAMPLES_MAX = 10_000;

/**
 * Phi for a silence of `elapsedMs` given a normal distribution of intervals, using the
 * logistic approximation of the normal CDF that Akka uses:
 * P(X > t) ~= 1 / (1 + e^z), z = y (1.5976 + 0.070566 y^2), y = (t - mean) / stdDev,
 * so phi = log10(1 + e^z), computed as a stable softplus (no overflow, no NaN).
 * Non-decreasing in `elapsedMs`, capped at PHI_MAX.
 */
export function phi(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const z = y * (1.5976 + 0.070566 * y * y);
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  const value = softplus / Math.LN10;
  return value < PHI_MAX ? value : PHI_MAX;
}

/**
 * The silence at which `phi` reaches `threshold` for a normal distribution of intervals
 * with `meanMs` and `stdDeviationMs`: the inverse of `phi` in `elapsedMs`. It solves
 * log10(1 + e^z) = threshold for z, then z = y (1.5976 + 0.070566 y^2) for y (strictly
 * increasing, so by bisection), and returns mean + y * stdDeviation.
 */
export function phiElapsedAt(threshold: number, meanMs: number, stdDeviationMs: number): number {
  assert(threshold > 0 && threshold < PHI_MAX, 'phi threshold must be in (0, PHI_MAX)');
  return meanMs + phiDeviations(threshold) * stdDeviationMs;
}

// y for the last threshold asked: callers use one threshold, and bisection is 60 steps.
let lastThreshold = Number.NaN;
let lastDeviations = 0;

function phiDeviations(threshold: number): number {
  if (threshold === lastThreshold) return lastDeviations;
  // e^z = 10^threshold - 1, computed without overflow for large thresholds.
  const z = threshold * Math.LN10 + Math.log1p(-(10 ** -threshold));
  let low = -100;
  let high = 100;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (mid * (1.5976 + 0.070566 * mid * mid) < z) low = mid;
    else high = mid;
  }
  lastThreshold = threshold;
  lastDeviations = (low + high) / 2;
  return lastDeviations;
}

/** Heartbeat history of one node: a window of intervals and the last arrival. */
class History {
  readonly intervals: SampleWindow;

  constructor(
    samplesMax: number,
    public lastHeartbeat: Millis,
  ) {
    this.intervals = new SampleWindow(samplesMax);
  }
}

function validate(config: PhiAccrualConfig): void {
  const problems: string[] = [];
  const positive = (name: keyof PhiAccrualConfig): void => {
    const v = config[name];
    if (!Number.isFinite(v) || v <= 0) problems.push(`${name} must be a positive finite number`);
  };
  positive('threshold');
  positive('minStdDeviationMs');
  positive('firstHeartbeatEstimateMs');
  positive('sampleIntervalMaxMs');
  if (!Number.isFinite(config.acceptableHeartbeatPauseMs) || config.acceptableHeartbeatPauseMs < 0) {
    problems.push('acceptableHeartbeatPauseMs must be a non-negative finite number');
  }
  if (!Number.isInteger(config.samplesMax) || config.samplesMax < 1 || config.samplesMax > PHI_SAMPLES_MAX) {
    problems.push(`samplesMax must be an integer in [1, ${PHI_SAMPLES_MAX}]`);
  }
  if (!Number.isInteger(config.minSamples) || config.minSamples < 1 || config.minSamples > config.samplesMax) {
    problems.push('minSamples must be an integer in [1, samplesMax]');
  }
  if (config.threshold >= PHI_MAX) problems.push(`threshold must be below ${PHI_MAX}`);
  if (config.sampleIntervalMaxMs <= config.firstHeartbeatEstimateMs) {
    problems.push('sampleIntervalMaxMs must exceed firstHeartbeatEstimateMs');
  }
  if (problems.length > 0) throw new FlotillaError('FLO_CONFIG_INVALID', problems.join('; '), { ...config });
}

/**
 * Phi accrual failure detector with bounded memory per node. Suspicion is phi: 0 for a
 * node never heard from, low right after regular heartbeats, and rising without bound
 * (up to PHI_MAX) while the node stays silent.
 */
export class PhiAccrualFailureDetector implements FailureDetector {
  readonly config: PhiAccrualConfig;
  private readonly histories = new Map<NodeId, History>();

  constructor(config: Partial<PhiAccrualConfig> = {}) {
    this.config = { ...PHI_ACCRUAL_DEFAULTS, ...config };
    validate(this.config);
  }

  /** Number of nodes tracked. */
  get size(): number {
    return this.histories.size;
  }

  heartbeat(nodeId: NodeId, now: Millis): void {
    assert(Number.isFinite(now), 'heartbeat time must be finite');
    const history = this.histories.get(nodeId);
    if (history === undefined) {
      this.histories.set(nodeId, new History(this.config.samplesMax, now));
      return;
    }
    const interval = now - history.lastHeartbeat;
    // Duplicates and out-of-order deliveries say nothing about the rhythm.
    if (interval <= 0) return;
    if (interval <= this.config.sampleIntervalMaxMs) history.intervals.add(interval);
    history.lastHeartbeat = now;
  }

  suspicionLevel(nodeId: NodeId, now: Millis): number {
    assert(Number.isFinite(now), 'suspicion time must be finite');
    const history = this.histories.get(nodeId);
    if (history === undefined) return 0;
    const { meanMs, stdDeviationMs } = this.distribution(history);
    return phi(Math.max(0, now - history.lastHeartbeat), meanMs + this.config.acceptableHeartbeatPauseMs, stdDeviationMs);
  }

  isAlive(nodeId: NodeId, now: Millis): boolean {
    return this.suspicionLevel(nodeId, now) < this.config.threshold;
  }

  remove(nodeId: NodeId): void {
    this.histories.delete(nodeId);
  }

  /** When `nodeId`'s phi reaches the threshold if no heartbeat comes first; undefined if unknown. */
  thresholdAt(nodeId: NodeId): Millis | undefined {
    const history = this.histories.get(nodeId);
    if (history === undefined) return undefined;
    const { meanMs, stdDeviationMs } = this.distribution(history);
    return history.lastHeartbeat + phiElapsedAt(this.config.threshold, meanMs + this.config.acceptableHeartbeatPauseMs, stdDeviationMs);
  }

  /** Mean and (floored) standard deviation of `nodeId`'s intervals, or undefined if unknown. */
  intervalStats(nodeId: NodeId): { meanMs: number; stdDeviationMs: number; samples: number } | undefined {
    const history = this.histories.get(nodeId);
    if (history === undefined) return undefined;
    return { ...this.distribution(history), samples: history.intervals.count };
  }

  private distribution(history: History): { meanMs: number; stdDeviationMs: number } {
    const { minSamples, firstHeartbeatEstimateMs, minStdDeviationMs } = this.config;
    if (history.intervals.count < minSamples) {
      return { meanMs: firstHeartbeatEstimateMs, stdDeviationMs: Math.max(firstHeartbeatEstimateMs / 4, minStdDeviationMs) };
    }
    return { meanMs: history.intervals.mean, stdDeviationMs: Math.max(history.intervals.stdDeviation, minStdDeviationMs) };
  }
}

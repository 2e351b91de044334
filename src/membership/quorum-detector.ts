/**
 * The quorum detector: compares the live member count with the expected cluster size, so
 * a node cut off in the minority side of a network split notices, waits out a grace period
 * (a rolling restart is not a split), then turns read-only and says so.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';

/** Configuration of a `QuorumDetector`. */
export interface QuorumDetectorConfig {
  /** Members the cluster is expected to have (this node included). Positive integer. */
  readonly expectedSize: number;
  /**
   * Fraction of `expectedSize` that must be exceeded to hold quorum: live > expectedSize x
   * thresholdRatio. Default 0.5, a strict majority, so at most one side of a split can hold
   * it. In [0, 1); below 0.5 both sides of a split may stay writable.
   */
  readonly thresholdRatio: number;
  /**
   * How long (ms) quorum may be lost before the node declares itself partitioned and turns
   * read-only. Default 30,000. Longer rides out rolling restarts and slow failure detection;
   * shorter stops minority writes sooner.
   */
  readonly gracePeriodMs: number;
}

/** Defaults for the optional fields of `QuorumDetectorConfig`. */
export const QUORUM_DEFAULTS: Omit<QuorumDetectorConfig, 'expectedSize'> = {
  thresholdRatio: 0.5,
  gracePeriodMs: 30_000,
};

/** What the detector concludes. */
export type QuorumKind = 'unknown' | 'healthy' | 'suspect' | 'partitioned';

/** The detector's verdict at a given time. */
export interface QuorumState {
  /**
   * `unknown` before the first update; `healthy` with quorum; `suspect` without quorum for
   * at most the grace period; `partitioned` without quorum for longer.
   */
  readonly kind: QuorumKind;
  /** True while the live count is below quorum (`suspect` and `partitioned`). */
  readonly minority: boolean;
  /**
   * When the current kind began: the update that gained quorum (`healthy`), the update that
   * lost it (`suspect`), or that time plus the grace period (`partitioned`). Undefined
   * while `unknown`.
   */
  readonly since: Millis | undefined;
}

/** Options of one `update`. */
export interface QuorumUpdateOptions {
  /**
   * Whether this side holds the tie-breaker (for example, it contains the oldest member).
   * At exactly the threshold (e.g. 2 of 4 with ratio 0.5) only the side holding it keeps
   * quorum, so an even split leaves exactly one side writable when both agree on who holds
   * it. Without it, exactly the threshold is a minority.
   */
  readonly holdsTieBreaker?: boolean;
}

// Tolerance for `expectedSize * thresholdRatio` landing a rounding error off an integer.
const RATIO_EPSILON = 1e-9;

/** Whether `liveCount` holds quorum: live > expected x ratio, or equal to it with the tie-breaker. */
export function hasQuorum(liveCount: number, expectedSize: number, thresholdRatio: number, holdsTieBreaker = false): boolean {
  const threshold = expectedSize * thresholdRatio;
  if (liveCount > threshold + RATIO_EPSILON) return true;
  return holdsTieBreaker && Math.abs(liveCount - threshold) <= RATIO_EPSILON;
}

function validateExpectedSize(expectedSize: number): void {
  if (!Number.isInteger(expectedSize) || expectedSize < 1) {
    throw new FlotillaError('FLO_CONFIG_INVALID', 'expectedSize must be a positive integer', { expectedSize });
  }
}

/**
 * Sans-IO quorum detector: fed live counts with the time, asked for its verdict at a time.
 * Time passed to `update` and `setExpectedSize` should not go backwards; an earlier time is
 * treated as the latest one seen.
 */
export class QuorumDetector {
  readonly thresholdRatio: number;
  readonly gracePeriodMs: Millis;
  private expected: number;
  private liveCount = 0;
  private tieBreaker = false;
  private lastUpdate: Millis | undefined;
  private healthySince: Millis | undefined;
  private belowSince: Millis | undefined;

  constructor(config: Partial<QuorumDetectorConfig> & Pick<QuorumDetectorConfig, 'expectedSize'>) {
    const full = { ...QUORUM_DEFAULTS, ...config };
    validateExpectedSize(full.expectedSize);
    if (!Number.isFinite(full.thresholdRatio) || full.thresholdRatio < 0 || full.thresholdRatio >= 1) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'thresholdRatio must be in [0, 1)', { thresholdRatio: full.thresholdRatio });
    }
    if (!Number.isFinite(full.gracePeriodMs) || full.gracePeriodMs < 0) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'gracePeriodMs must be a non-negative finite number', { gracePeriodMs: full.gracePeriodMs });
    }
    this.expected = full.expectedSize;
    this.thresholdRatio = full.thresholdRatio;
    this.gracePeriodMs = full.gracePeriodMs;
  }

  /** The expected cluster size currently in force. */
  get expectedSize(): number {
    return this.expected;
  }

  /** Reports `liveCount` live members (this node included) at `now`. */
  update(liveCount: number, now: Millis, options: QuorumUpdateOptions = {}): void {
    if (!Number.isInteger(liveCount) || liveCount < 0) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', 'liveCount must be a non-negative integer', { liveCount });
    }
    this.liveCount = liveCount;
    this.tieBreaker = options.holdsTieBreaker ?? false;
    this.evaluate(now);
  }

  /**
   * Changes the expected size (the operator scaled the cluster) at `now`, re-judging the
   * last reported live count against it.
   */
  setExpectedSize(expectedSize: number, now: Millis): void {
    validateExpectedSize(expectedSize);
    this.expected = expectedSize;
    if (this.lastUpdate !== undefined) this.evaluate(now);
  }

  /** The verdict at `now`. */
  state(now: Millis): QuorumState {
    if (this.lastUpdate === undefined) return { kind: 'unknown', minority: false, since: undefined };
    if (this.belowSince === undefined) return { kind: 'healthy', minority: false, since: this.healthySince };
    if (now - this.belowSince > this.gracePeriodMs) {
      return { kind: 'partitioned', minority: true, since: this.belowSince + this.gracePeriodMs };
    }
    return { kind: 'suspect', minority: true, since: this.belowSince };
  }

  /** True when the node must refuse writes at `now` (the `partitioned` state). */
  isReadOnly(now: Millis): boolean {
    return this.state(now).kind === 'partitioned';
  }

  /**
   * While quorum is lost: the time after which (strictly) the state becomes `partitioned`,
   * for a driver that wants a timer to announce it. Undefined otherwise.
   */
  partitionedAfter(): Millis | undefined {
    return this.belowSince === undefined ? undefined : this.belowSince + this.gracePeriodMs;
  }

  private evaluate(now: Millis): void {
    if (!Number.isFinite(now)) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'now must be finite', { now });
    const at = this.lastUpdate === undefined ? now : Math.max(now, this.lastUpdate);
    const quorate = hasQuorum(this.liveCount, this.expected, this.thresholdRatio, this.tieBreaker);
    if (quorate) {
      if (this.healthySince === undefined) this.healthySince = at;
      this.belowSince = undefined;
    } else {
      if (this.belowSince === undefined) this.belowSince = at;
      this.healthySince = undefined;
    }
    this.lastUpdate = at;
  }
}

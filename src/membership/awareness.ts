/**
 * Lifeguard local health ("awareness"): a score that rises when this node shows signs of
 * being the problem (its probes go unanswered while helpers do not even Nack, it had to
 * refute a suspicion) and falls with each successful probe. The score stretches this
 * node's own probe interval and timeout, so a slow or overloaded node accuses others
 * less eagerly.
 */

/** Bounded health score in [0, scoreMax]; 0 is healthy. */
export class Awareness {
  private value = 0;

  constructor(readonly scoreMax: number) {}

  /** Current score. */
  get score(): number {
    return this.value;
  }

  /** Adds `delta` (may be negative), clamped to [0, scoreMax]. */
  applyDelta(delta: number): void {
    this.value = Math.min(this.scoreMax, Math.max(0, this.value + delta));
  }

  /** `timeoutMs * (score + 1)`. */
  scale(timeoutMs: number): number {
    return timeoutMs * (this.value + 1);
  }
}

/**
 * Health change after a probe that got no Ack: with helpers asked to Nack, one point per
 * missing Nack (helpers that could not reach us either suggest our own trouble); with no
 * such helpers, one point for the failure itself.
 */
export function failedProbeAwarenessDelta(expectedNacks: number, nacksReceived: number): number {
  if (expectedNacks > 0) return Math.max(0, expectedNacks - nacksReceived);
  return 1;
}

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
 * Health change after a probe that got no Ack: with helpers asked to Nack and none of
 * them answering, one point per missing Nack (helpers that could not reach us either
 * suggest our own trouble); with no such helpers, one point for the failure itself. Once
 * one helper's Nack came back in time, this node's messages go out and are answered
 * promptly, so the helpers that stayed silent are cut off or slow themselves: no point.
 * That is what a network split looks like from its minority side, where most helpers are
 * across the cut; counting their silence (Lifeguard's rule) stretched the minority's
 * probing up to 8x just when it must find out quickly that it lost its majority.
 */
export function failedProbeAwarenessDelta(expectedNacks: number, nacksReceived: number): number {
  if (expectedNacks === 0) return 1;
  return nacksReceived > 0 ? 0 : expectedNacks;
}

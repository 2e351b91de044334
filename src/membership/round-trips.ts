/**
 * Adaptive probe timeouts: the round trips of this node's probes, per member, and the
 * timeout each member has earned. A member on a slow, jittery link gets the time its own
 * history says an Ack may take (phi accrual over round trips, as Akka and Cassandra judge
 * heartbeats); a member on a steady link gets a short one, down to the configured floor. Bounded: one window
 * per member, at most `membersMax` of them.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { SwimConfig } from './config.js';
import { phiElapsedAt } from './phi-accrual.js';
import { SampleWindow } from './sample-window.js';

type RoundTripConfig = Pick<
  SwimConfig,
  'probeTimeoutMs' | 'probeTimeoutMinMs' | 'probeTimeoutMaxMs' | 'probeTimeoutPhi' | 'roundTripSamplesMax' | 'roundTripSamplesMin' | 'roundTripStdDeviationMinMs' | 'membersMax'
>;

/**
 * The bounds the adaptive timeout lies in: [probeTimeoutMinMs, probeTimeoutMaxMs], widened
 * to include `probeTimeoutMs` (a configured timeout below the floor lowers the floor to it;
 * above the ceiling, raises the ceiling), so a probe timeout set on its own stays valid.
 */
export function probeTimeoutBounds(config: Pick<SwimConfig, 'probeTimeoutMs' | 'probeTimeoutMinMs' | 'probeTimeoutMaxMs'>): { minMs: Millis; maxMs: Millis } {
  return { minMs: Math.min(config.probeTimeoutMinMs, config.probeTimeoutMs), maxMs: Math.max(config.probeTimeoutMaxMs, config.probeTimeoutMs) };
}

/** Round-trip history and adaptive probe timeouts of the members this node probes. */
export class RoundTrips {
  private readonly windows = new Map<NodeId, SampleWindow>();
  private readonly minMs: Millis;
  private readonly maxMs: Millis;

  constructor(private readonly config: RoundTripConfig) {
    ({ minMs: this.minMs, maxMs: this.maxMs } = probeTimeoutBounds(config));
  }

  /** Members tracked. */
  get size(): number {
    return this.windows.size;
  }

  /**
   * Records that a probe of `nodeId` was answered `rttMs` after it was sent. Round trips
   * beyond the upper bound are recorded at the bound: a process pause says little about
   * the link, and would hold the timeout at its maximum for a whole window.
   */
  record(nodeId: NodeId, rttMs: Millis): void {
    let window = this.windows.get(nodeId);
    if (window === undefined) {
      if (this.windows.size >= this.config.membersMax) this.windows.delete(this.windows.keys().next().value as NodeId);
      window = new SampleWindow(this.config.roundTripSamplesMax);
      this.windows.set(nodeId, window);
    }
    window.add(Math.max(0, Math.min(rttMs, this.maxMs)));
  }

  /**
   * The direct-probe timeout `nodeId` has earned, within `probeTimeoutBounds`;
   * `probeTimeoutMs` before its first round trip.
   */
  timeoutFor(nodeId: NodeId): Millis {
    const { probeTimeoutMs } = this.config;
    if (this.maxMs === this.minMs) return probeTimeoutMs;
    const window = this.windows.get(nodeId);
    if (window === undefined) return probeTimeoutMs;
    // A short history is a poor guide: until it has `roundTripSamplesMin` samples, its
    // spread counts as at least its mean (measured: half of it still let heavy-tailed
    // links through during learning; Akka bootstraps heartbeats with a quarter).
    const learning = window.count < this.config.roundTripSamplesMin ? window.mean : 0;
    const stdDeviation = Math.max(window.stdDeviation, this.config.roundTripStdDeviationMinMs, learning);
    const timeout = Math.ceil(phiElapsedAt(this.config.probeTimeoutPhi, window.mean, stdDeviation));
    return Math.max(this.minMs, Math.min(this.maxMs, timeout));
  }

  /** Mean and standard deviation of `nodeId`'s round trips, if any were recorded. */
  statsOf(nodeId: NodeId): { meanMs: number; stdDeviationMs: number; samples: number } | undefined {
    const window = this.windows.get(nodeId);
    return window === undefined ? undefined : { meanMs: window.mean, stdDeviationMs: window.stdDeviation, samples: window.count };
  }

  /** Forgets `nodeId` (it died or left; a new life starts a new history). */
  forget(nodeId: NodeId): void {
    this.windows.delete(nodeId);
  }
}

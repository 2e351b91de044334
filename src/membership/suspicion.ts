/**
 * Lifeguard suspicion: the timeout after which a suspect is declared dead starts long and
 * shrinks toward a minimum as independent confirmations arrive, so one unhealthy accuser
 * is slow to kill anybody while a real failure seen by many is confirmed quickly. The
 * math is plain functions (memberlist's suspicionTimeout and remainingSuspicionTime); the
 * `Suspicion` record tracks who confirmed.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';

/**
 * Minimum suspicion timeout for a cluster of `n` members:
 * `suspicionMult * max(1, log10(n)) * probeIntervalMs`, in whole milliseconds.
 */
export function suspicionMinTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(suspicionMult * nodeScale * probeIntervalMs);
}

/**
 * Expected independent confirmations: the configured count, capped by the members that
 * can confirm (everybody but this node and the suspect).
 */
export function expectedConfirmations(configured: number, n: number): number {
  return Math.max(0, Math.min(configured, n - 2));
}

/**
 * The suspicion timeout after `confirmations` of `expected` confirmations:
 * `max - (max - min) * log(c + 1) / log(k + 1)`, floored to whole milliseconds and never
 * below `min`. With no confirmation expected it is `min` from the start.
 */
export function suspicionTimeoutMs(minMs: number, maxMs: number, confirmations: number, expected: number): number {
  if (expected < 1) return minMs;
  const fraction = Math.log(confirmations + 1) / Math.log(expected + 1);
  const raw = Math.floor(maxMs - fraction * (maxMs - minMs));
  return Math.max(minMs, raw);
}

/** One ongoing suspicion of a member. */
export class Suspicion {
  /** Nodes whose Suspect has been counted; the first accuser is not a confirmation. */
  private readonly accusers = new Set<NodeId>();
  private confirmationCount = 0;

  /**
   * @param startedAt when this node began suspecting
   * @param minMs minimum timeout
   * @param maxMs starting timeout
   * @param expected confirmations that bring the timeout to `minMs`
   * @param firstAccuser the node whose Suspect started it
   */
  constructor(
    readonly startedAt: Millis,
    readonly minMs: number,
    readonly maxMs: number,
    readonly expected: number,
    firstAccuser: NodeId,
  ) {
    this.accusers.add(firstAccuser);
  }

  /** Independent confirmations counted so far (at most `expected`). */
  get confirmations(): number {
    return this.confirmationCount;
  }

  /** When the suspect is to be declared dead. */
  get deadline(): Millis {
    return this.startedAt + suspicionTimeoutMs(this.minMs, this.maxMs, this.confirmationCount, this.expected);
  }

  /**
   * Counts a Suspect from `from`. True when it was a new independent confirmation (and so
   * worth re-gossiping); false for a repeat accuser or once enough confirmations arrived.
   * The accuser set stays bounded by `expected + 1`.
   */
  confirm(from: NodeId): boolean {
    if (this.confirmationCount >= this.expected) return false;
    if (this.accusers.has(from)) return false;
    this.accusers.add(from);
    this.confirmationCount++;
    return true;
  }
}

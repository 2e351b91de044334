/**
 * Incarnation numbers: the version a node stamps on its own liveness claims. They are
 * uint32 serial numbers compared wraparound-safe (RFC 1982), so they never run out, and
 * they start from a timestamp so a restarted node outranks the claims of its previous life.
 */
import { FlotillaError } from './errors.js';
import type { Millis } from './clock.js';
import type { NodeId } from './model.js';

/** An incarnation: an integer in [0, 2^32). */
export type Incarnation = number;

/** Number of distinct incarnations; arithmetic is modulo this. */
export const INCARNATION_MODULUS = 2 ** 32;

/** Half the serial space: two incarnations this far apart or more are not comparable. */
const HALF_SPACE = 2 ** 31;

/** True when `value` is an integer in [0, 2^32). */
export function isIncarnation(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < INCARNATION_MODULUS;
}

function requireIncarnation(value: number, name: string): void {
  if (!isIncarnation(value)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${name} must be an integer in [0, 2^32)`, { [name]: value });
}

/**
 * The incarnation a node starts with: the start time in milliseconds, truncated to its low
 * 32 bits (so it wraps every 2^32 ms, about 49.7 days).
 *
 * Why milliseconds: a node that restarts under the same id must outrank everything its
 * previous life said, including the refutations it made (each +1). Under serial
 * comparison the new value wins when it is ahead of the old one by less than 2^31,
 * i.e. when the restart comes after the old life's last incarnation "time" (start time plus
 * one millisecond per refutation) and within about 24.8 days of it. A restart takes far
 * longer than a millisecond per refutation, and peers forget a dead member well within 24
 * days, so in practice the restarted node wins. Seconds would survive longer gaps but let
 * a restart within the same second (or a few refutations) tie or lose.
 */
export function initialIncarnation(nowMs: Millis): Incarnation {
  if (!Number.isFinite(nowMs)) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'nowMs must be finite', { nowMs });
  return Math.floor(nowMs) >>> 0;
}

/** The next incarnation: `i + 1` modulo 2^32. */
export function nextIncarnation(i: Incarnation): Incarnation {
  requireIncarnation(i, 'incarnation');
  return (i + 1) >>> 0;
}

/**
 * Serial-number comparison (RFC 1982): -1 when `a` precedes `b`, 1 when it follows, 0 when
 * equal. `a` follows `b` when it is ahead by less than 2^31 going forward around the
 * circle, so 0 follows 0xffffffff. Exactly 2^31 apart is undefined in RFC 1982; here the
 * numerically larger one wins, which keeps the result antisymmetric.
 */
export function compareIncarnation(a: Incarnation, b: Incarnation): -1 | 0 | 1 {
  requireIncarnation(a, 'a');
  requireIncarnation(b, 'b');
  if (a === b) return 0;
  const forward = (a - b + INCARNATION_MODULUS) % INCARNATION_MODULUS;
  if (forward === HALF_SPACE) return a > b ? 1 : -1;
  return forward < HALF_SPACE ? 1 : -1;
}

/** Anything versioned by a node's incarnation: liveness claims, tags. */
export interface Versioned {
  readonly incarnation: Incarnation;
  readonly nodeId: NodeId;
}

/**
 * Orders two versioned records: by incarnation (wraparound-safe), then by node id (code
 * unit order), so every node picks the same winner.
 */
export function compareVersioned(a: Versioned, b: Versioned): -1 | 0 | 1 {
  const byIncarnation = compareIncarnation(a.incarnation, b.incarnation);
  if (byIncarnation !== 0) return byIncarnation;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

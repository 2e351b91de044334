/**
 * The contract every failure detector meets, so the membership layer can swap the
 * adaptive phi accrual detector for a fixed deadline one (or a test double). Detectors are
 * sans-IO: they are told when heartbeats arrive and asked about a given `now`.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';

/** Judges liveness of nodes from the times their heartbeats arrived. */
export interface FailureDetector {
  /** Records a heartbeat from `nodeId` received at `now`; starts tracking unknown nodes. */
  heartbeat(nodeId: NodeId, now: Millis): void;
  /**
   * How suspicious the silence of `nodeId` is at `now`: 0 for a node never heard from,
   * otherwise a non-negative number that never decreases while no heartbeat arrives. Its
   * scale is the detector's own (phi for phi accrual, elapsed/deadline for deadline).
   */
  suspicionLevel(nodeId: NodeId, now: Millis): number;
  /** Whether `nodeId` counts as alive at `now`; true for a node never heard from. */
  isAlive(nodeId: NodeId, now: Millis): boolean;
  /** Forgets `nodeId` (it left or was declared dead), freeing its history. */
  remove(nodeId: NodeId): void;
}

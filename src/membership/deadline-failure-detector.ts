/**
 * The simplest failure detector: a node is alive while its last heartbeat is at most a
 * fixed deadline old. Predictable, and right when heartbeats are regular and the network
 * latency is known; the phi accrual detector adapts instead.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { FailureDetector } from './failure-detector.js';

/**
 * Alive iff `now - lastHeartbeat <= deadlineMs`. The suspicion level is
 * `elapsed / deadlineMs`: 0 right after a heartbeat, 1 at the deadline, growing linearly
 * after it, so `isAlive` is exactly `suspicionLevel <= 1`.
 */
export class DeadlineFailureDetector implements FailureDetector {
  readonly deadlineMs: Millis;
  private readonly lastHeartbeat = new Map<NodeId, Millis>();

  /** `deadlineMs`: how long (ms) a node may stay silent and still count as alive; positive. */
  constructor(deadlineMs: Millis) {
    if (!Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new FlotillaError('FLO_CONFIG_INVALID', 'deadlineMs must be a positive finite number', { deadlineMs });
    }
    this.deadlineMs = deadlineMs;
  }

  /** Number of nodes tracked. */
  get size(): number {
    return this.lastHeartbeat.size;
  }

  heartbeat(nodeId: NodeId, now: Millis): void {
    const last = this.lastHeartbeat.get(nodeId);
    // A heartbeat delivered out of order must not make the node look staler than it is.
    if (last === undefined || now > last) this.lastHeartbeat.set(nodeId, now);
  }

  suspicionLevel(nodeId: NodeId, now: Millis): number {
    const last = this.lastHeartbeat.get(nodeId);
    if (last === undefined) return 0;
    return Math.max(0, now - last) / this.deadlineMs;
  }

  isAlive(nodeId: NodeId, now: Millis): boolean {
    const last = this.lastHeartbeat.get(nodeId);
    return last === undefined || now - last <= this.deadlineMs;
  }

  remove(nodeId: NodeId): void {
    this.lastHeartbeat.delete(nodeId);
  }
}

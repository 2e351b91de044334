/**
 * Health checks as membership sees them. On the master, a phi accrual detector over each
 * member's heartbeats: a member whose heartbeats stop while it may still answer probes
 * (it cannot reach the master, or its process is stalled) fails its health check and is
 * suspected, so Lifeguard lets it refute or declares it dead; when its heartbeats resume
 * the check passes again. On every node, the node's own (pluggable, possibly async)
 * health check, reported by its owner: while it fails, the node reports itself suspect
 * and does not refute; when it passes, it refutes and is alive again everywhere.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import { GossipPriority } from './gossip-queue.js';
import { snapshotMember } from './member-list.js';
import { PhiAccrualFailureDetector } from './phi-accrual.js';
import type { SwimContext } from './swim-context.js';
import type { Transitions } from './transitions.js';

/** Heartbeat gaps longer than this many intervals measure an outage, not the rhythm. */
const HEARTBEAT_SAMPLE_INTERVALS_MAX = 10;

/** Health of members (heartbeats, on the master) and of this node (its own check). */
export class HealthWatch {
  private readonly heartbeats: PhiAccrualFailureDetector;
  /** Members whose heartbeat check failed and has not passed since (at most the member list). */
  private readonly failing = new Set<NodeId>();
  private nextScanAt: Millis | undefined;

  constructor(
    private readonly rt: SwimContext,
    private readonly transitions: Transitions,
    private readonly isMaster: () => boolean,
  ) {
    const intervalMs = rt.config.heartbeatIntervalMs;
    this.heartbeats = new PhiAccrualFailureDetector({
      threshold: rt.config.heartbeatPhiThreshold,
      firstHeartbeatEstimateMs: intervalMs,
      minStdDeviationMs: intervalMs / 4,
      sampleIntervalMaxMs: intervalMs * HEARTBEAT_SAMPLE_INTERVALS_MAX,
    });
  }

  /** Whether this node's own health check fails. */
  get selfFailing(): boolean {
    return this.transitions.unhealthy;
  }

  /** A Heartbeat from `nodeId` reached this node (the master). */
  onHeartbeat(nodeId: NodeId, now: Millis): void {
    const entry = this.rt.members.get(nodeId);
    // Only members are tracked, so the detector is bounded by the member list.
    if (entry === undefined || nodeId === this.rt.selfId || entry.state === 'dead' || entry.state === 'left') return;
    this.heartbeats.heartbeat(nodeId, now);
    this.nextScanAt ??= now + this.rt.config.probeIntervalMs;
    if (!this.failing.delete(nodeId)) return;
    this.rt.emit({ type: 'HealthCheckPassed', at: now, member: snapshotMember(entry), source: 'heartbeats' });
  }

  /** Scans the heartbeat histories once per probe period. */
  tick(now: Millis): void {
    if (this.nextScanAt === undefined || now < this.nextScanAt) return;
    this.nextScanAt = this.heartbeats.size === 0 ? undefined : now + this.rt.config.probeIntervalMs;
    if (!this.isMaster()) return;
    for (const entry of this.rt.members.all()) {
      if (entry.state !== 'alive' || this.failing.has(entry.nodeId)) continue;
      const at = this.heartbeats.thresholdAt(entry.nodeId);
      if (at === undefined || at > now) continue;
      this.failing.add(entry.nodeId);
      const phi = this.heartbeats.suspicionLevel(entry.nodeId, now);
      this.rt.emit({ type: 'HealthCheckFailed', at: now, member: snapshotMember(entry), source: 'heartbeats', detail: `heartbeat phi ${phi.toFixed(1)}` });
      this.rt.counters.healthSuspicions++;
      this.transitions.applySuspect({ type: 'Suspect', node: entry.nodeId, incarnation: entry.incarnation, from: this.rt.selfId }, now);
    }
  }

  /** When the next scan is due, if any member is tracked. */
  nextDeadline(): Millis | undefined {
    return this.nextScanAt;
  }

  /** Forgets a member that died or left (a new life starts a new history). */
  forget(nodeId: NodeId): void {
    this.heartbeats.remove(nodeId);
    this.failing.delete(nodeId);
  }

  /**
   * This node's own health check says `failing` (with `detail`). Failing: the node gossips
   * a Suspect about itself and stops refuting, so every member holds it suspect (without
   * a suspicion timer, unless a prober's own probe fails too). Passing again: it refutes,
   * raising its incarnation, and is alive everywhere. Repeated reports change nothing.
   */
  reportSelf(failing: boolean, detail: string, now: Millis): void {
    if (failing === this.transitions.unhealthy || this.transitions.leaving) return;
    this.transitions.unhealthy = failing;
    const self = this.rt.members.self();
    if (failing) {
      this.rt.emit({ type: 'HealthCheckFailed', at: now, member: snapshotMember(self), source: 'check', detail });
      this.rt.gossip.enqueue({ type: 'Suspect', node: self.nodeId, incarnation: self.incarnation, from: self.nodeId }, GossipPriority.High);
      return;
    }
    this.transitions.refute(self.incarnation);
    this.rt.emit({ type: 'HealthCheckPassed', at: now, member: snapshotMember(this.rt.members.self()), source: 'check' });
  }
}

/**
 * What members tell their master about the cluster, and how the master weighs it: the
 * periodic heartbeat (view version and the members this node suspects), a complaint when
 * a member's own probe fails, the leave announcement; and on the master, the complaints
 * counted per accused member until it probes the member out of turn or suspects it.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeId } from '../core/model.js';
import type { HeartbeatComplaint } from '../protocol/messages.js';
import { Complaints } from './complaints.js';
import type { SwimContext as Runtime } from './swim-context.js';
import type { Transitions } from './transitions.js';

/** What the reports need to know of the mastership. */
export interface MemberReportsDeps {
  joined(): boolean;
  isMaster(): boolean;
  masterId(): NodeId | undefined;
  /** Address of the master, if known and not this node. */
  masterAddress(): Address | undefined;
  /** Version of the view this node holds (0 before any). */
  viewVersion(): number;
  /** Probe `nodeId` out of turn (a complaint the master could not yet confirm). */
  probeSoon(nodeId: NodeId): void;
}

/** Heartbeats, complaints and the leave announcement, both ends. */
export class MemberReports {
  private readonly complaints: Complaints;
  private nextHeartbeatAt: Millis | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly transitions: Transitions,
    private readonly deps: MemberReportsDeps,
  ) {
    this.complaints = new Complaints(rt.config.complaintsTrackedMax, rt.config.complaintWindowMs);
  }

  /** Begins heartbeats (once joined). */
  start(now: Millis): void {
    this.nextHeartbeatAt = now + this.rt.config.heartbeatIntervalMs;
  }

  stop(): void {
    this.nextHeartbeatAt = undefined;
  }

  /** When the next heartbeat is due, on a joined member that has a master other than itself. */
  nextDeadline(): Millis | undefined {
    return this.deps.joined() && !this.deps.isMaster() && this.deps.masterId() !== undefined ? this.nextHeartbeatAt : undefined;
  }

  tick(now: Millis): void {
    if (this.nextHeartbeatAt !== undefined && now >= this.nextHeartbeatAt) {
      this.nextHeartbeatAt = now + this.rt.config.heartbeatIntervalMs;
      this.sendHeartbeat();
    }
  }

  /** This node began suspecting `target` after its own probe failed: tell the master. */
  onOwnSuspicion(target: NodeId): void {
    const master = this.deps.masterAddress();
    if (!this.deps.joined() || master === undefined || target === this.deps.masterId()) return;
    this.rt.counters.complaintsSent++;
    this.rt.send(master, { type: 'HeartbeatComplaint', from: this.rt.selfId, suspect: target, viewVersion: this.deps.viewVersion() });
  }

  /** Tells the master this node is leaving. */
  announceLeave(): void {
    const master = this.deps.masterAddress();
    if (master !== undefined) this.rt.send(master, { type: 'LeaveRequest', nodeId: this.rt.selfId, reason: 'graceful leave' });
  }

  /** A member's complaint; only the master hears complaints. */
  onComplaint(msg: HeartbeatComplaint, now: Millis): void {
    if (!this.deps.isMaster()) {
      this.rt.counters.ignored++;
      return;
    }
    this.complaint(msg.from, msg.suspect, now);
  }

  /** On the master: `from` says it cannot reach `suspect` (a complaint, or a heartbeat's list). */
  complaint(from: NodeId, suspect: NodeId, now: Millis): void {
    this.rt.counters.complaintsReceived++;
    const entry = this.rt.members.get(suspect);
    if (suspect === this.rt.selfId || entry === undefined || entry.state !== 'alive') return;
    const threshold = Math.max(1, Math.min(this.rt.config.complaintThreshold, this.rt.members.liveCount - 2));
    const verdict = this.complaints.add(from, suspect, now, threshold);
    this.rt.counters.complaintsDropped = this.complaints.dropped;
    if (verdict === 'probe') this.deps.probeSoon(suspect);
    else this.transitions.applySuspect({ type: 'Suspect', node: suspect, incarnation: entry.incarnation, from: this.rt.selfId }, now);
  }

  private sendHeartbeat(): void {
    const master = this.deps.masterAddress();
    if (!this.deps.joined() || master === undefined) return;
    const suspected = this.transitions.suspectIds(this.rt.config.heartbeatSuspectedMax);
    this.rt.send(master, { type: 'Heartbeat', from: this.rt.selfId, viewVersion: this.deps.viewVersion(), suspected });
  }
}

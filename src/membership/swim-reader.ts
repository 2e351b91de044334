/**
 * The read-only face of the membership machine: members and their tags as this node
 * sees them, the master's view, the quorum verdict and the counters. `SwimMachine`
 * extends it; it changes nothing.
 */
import type { Millis } from '../core/clock.js';
import type { MembersViewData, NodeId, Tags } from '../core/model.js';
import type { AdmissionGuard } from './admission-guard.js';
import type { Member } from './events.js';
import type { Mastership } from './mastership.js';
import { snapshotMember, type MemberEntry } from './member-list.js';
import type { QuorumWatch } from './quorum.js';
import type { QuorumState } from './quorum-detector.js';
import { buildStats, type SwimStats } from './stats.js';
import type { SwimContext } from './swim-context.js';
import { tagsMatcher } from './tags.js';

/** Queries of a membership machine, over the parts it holds. */
export abstract class SwimReader {
  protected abstract readonly rt: SwimContext;
  protected abstract readonly mastership: Mastership;
  protected abstract readonly quorum: QuorumWatch;
  protected abstract readonly admission: AdmissionGuard;


  /** Every known member (self included, tombstones included). */
  members(): Member[] {
    const out: Member[] = [];
    for (const entry of this.rt.members.all()) out.push(this.snapshot(entry));
    return out;
  }

  /** One member, if known. */
  member(nodeId: NodeId): Member | undefined {
    const entry = this.rt.members.get(nodeId);
    return entry === undefined ? undefined : this.snapshot(entry);
  }

  /** `entry` as a `Member`, with the clock offset this node measured of it. */
  private snapshot(entry: MemberEntry): Member {
    const offset = this.rt.clockOffsets.offsetOf(entry.nodeId);
    return offset === undefined ? snapshotMember(entry) : { ...snapshotMember(entry), clockOffsetMs: offset.offsetMs };
  }

  /** This node as it advertises itself. */
  localState(): Member {
    return snapshotMember(this.rt.members.self());
  }

  /** Alive members (self included) whose tag `key` equals `value`. */
  nodesWithTag(key: string, value: string): Member[] {
    return this.rt.members.aliveWhere((tags) => tags[key] === value);
  }

  /** Alive members (self included) carrying every pair of `tags`. */
  nodesWithAllTags(tags: Tags): Member[] {
    return this.rt.members.aliveWhere(tagsMatcher(tags));
  }

  /** The master's members view as this node knows it. */
  membersView(): MembersViewData | undefined {
    return this.mastership.book.view;
  }

  /** The master this node computes from its view. */
  master(): NodeId | undefined {
    return this.mastership.master;
  }

  /** True when this node is the master. */
  isMaster(): boolean {
    return this.mastership.isMaster();
  }

  /** The quorum verdict at `now`. */
  quorumState(now: Millis): QuorumState {
    return this.quorum.state(now);
  }

  /** True when this node is in the minority side past the grace period and must refuse writes. */
  isReadOnly(now: Millis): boolean {
    return this.quorum.isReadOnly(now);
  }

  /** Counters and gauges. */
  stats(): SwimStats {
    this.rt.syncDropCounters();
    this.rt.counters.rumoursRejected = this.admission.rejected;
    return buildStats(this.rt, this.mastership.book.view?.version ?? 0);
  }
}

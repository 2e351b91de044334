/**
 * The master's members view as this node knows it, and the master rule: the master is the
 * oldest active member (lowest join version, ties by node id) among the view's members
 * this node still sees alive or suspect. Every node computes it from its own view, so a
 * successor takes over as soon as it marks the old master dead. Views are totally
 * ordered (version, then the older publisher) so concurrent publishers converge.
 */
import type { MemberRecord, MemberStatus, MembersViewData, NodeId, SwimState } from '../core/model.js';
import { tagsEqual } from './tags.js';

/** Orders records by (joinVersion, nodeId): oldest first. */
export function compareAge(a: MemberRecord, b: MemberRecord): number {
  if (a.joinVersion !== b.joinVersion) return a.joinVersion - b.joinVersion;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

/** The oldest record accepted by `isCandidate`. */
export function oldestRecord(records: readonly MemberRecord[], isCandidate: (r: MemberRecord) => boolean): MemberRecord | undefined {
  let best: MemberRecord | undefined;
  for (const r of records) if (isCandidate(r) && (best === undefined || compareAge(r, best) < 0)) best = r;
  return best;
}

/**
 * Total order of views: the higher version wins; at equal versions (two nodes published
 * at once), the view whose oldest active member is older wins, then the larger one.
 * Positive when `a` is preferred.
 */
export function compareViews(a: MembersViewData, b: MembersViewData): number {
  if (a.version !== b.version) return a.version - b.version;
  const active = (r: MemberRecord): boolean => r.status !== 'dead';
  const oa = oldestRecord(a.members, active);
  const ob = oldestRecord(b.members, active);
  if (oa !== undefined && ob !== undefined) {
    const byAge = compareAge(ob, oa);
    if (byAge !== 0) return byAge;
  } else if (oa !== ob) return oa === undefined ? -1 : 1;
  return a.members.length - b.members.length;
}

/** Highest join version in `view` (0 for none). */
export function maxJoinVersion(view: MembersViewData): number {
  let max = 0;
  for (const r of view.members) if (r.joinVersion > max) max = r.joinVersion;
  return max;
}

/** True when two record lists (both sorted by age) say the same thing. */
export function sameRecords(a: readonly MemberRecord[], b: readonly MemberRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.nodeId !== y.nodeId ||
      x.address !== y.address ||
      x.clientAddress !== y.clientAddress ||
      x.joinVersion !== y.joinVersion ||
      x.status !== y.status ||
      x.incarnation !== y.incarnation ||
      !tagsEqual(x.tags, y.tags)
    ) {
      return false;
    }
  }
  return true;
}

/** The view status a member gets from its SWIM state, or undefined when it leaves the view. */
export function statusFor(state: SwimState, leaving: boolean): MemberStatus | undefined {
  if (state === 'dead' || state === 'left') return undefined;
  if (state === 'suspect') return 'suspect';
  return leaving ? 'leaving' : 'active';
}

/** The newest members view this node adopted, with what it implies. */
export class ViewBook {
  private current: MembersViewData | undefined;
  private byId = new Map<NodeId, MemberRecord>();
  private oldestRecordCached: MemberRecord | undefined;
  private versionSeen = 0;
  private joinVersionSeen = 0;

  /** The adopted view, if any. */
  get view(): MembersViewData | undefined {
    return this.current;
  }

  /** Highest view version seen from anybody: a new master publishes above it. */
  get maxVersionSeen(): number {
    return this.versionSeen;
  }

  /** Highest join version seen: a new master admits above it. */
  get maxJoinVersionSeen(): number {
    return this.joinVersionSeen;
  }

  /** The record of `nodeId` in the adopted view. */
  record(nodeId: NodeId): MemberRecord | undefined {
    return this.byId.get(nodeId);
  }

  /** Notes a join version handed out (so a later admission goes above it). */
  noteJoinVersion(joinVersion: number): void {
    if (joinVersion > this.joinVersionSeen) this.joinVersionSeen = joinVersion;
  }

  /** Notes a view version somebody reported (a new publish goes above it). */
  noteVersion(version: number): void {
    if (version > this.versionSeen) this.versionSeen = version;
  }

  /**
   * Forgets the adopted view (this node leaves its cluster to join another), keeping the
   * highest versions seen so a later publish by this node still goes above them.
   */
  forget(): void {
    this.current = undefined;
    this.byId = new Map();
    this.oldestRecordCached = undefined;
  }

  /**
   * Adopts `view` when it is preferred over the current one; true when adopted. A node's
   * join version only goes up (each admission hands out a new one), so a view that records
   * a member under an older join version than the current view does was built before that
   * member's latest admission: a master back from a stall publishes such views, from the
   * lineage the others left, and is never adopted over them, whatever its version. (The
   * stalled master itself leaves its lineage by the split-brain merge, as any minority does.)
   */
  offer(view: MembersViewData): boolean {
    if (view.version > this.versionSeen) this.versionSeen = view.version;
    this.noteJoinVersion(maxJoinVersion(view));
    if (this.current !== undefined && (this.recordsOlderAdmission(view) || compareViews(view, this.current) <= 0)) return false;
    this.current = view;
    this.byId = new Map(view.members.map((r) => [r.nodeId, r]));
    this.oldestRecordCached = oldestRecord(view.members, () => true);
    return true;
  }

  /** True when `view` records a member under an older join version than the current view does. */
  private recordsOlderAdmission(view: MembersViewData): boolean {
    for (const r of view.members) {
      const known = this.byId.get(r.nodeId);
      if (known !== undefined && r.joinVersion < known.joinVersion) return true;
    }
    return false;
  }

  /** The master: the oldest record whose node `isLive` (alive or suspect here). */
  master(isLive: (nodeId: NodeId) => boolean): MemberRecord | undefined {
    if (this.current === undefined) return undefined;
    return oldestRecord(this.current.members, (r) => r.status !== 'dead' && isLive(r.nodeId));
  }

  /** The oldest record in the view regardless of liveness (the quorum tie-breaker). */
  oldest(): MemberRecord | undefined {
    return this.oldestRecordCached;
  }
}

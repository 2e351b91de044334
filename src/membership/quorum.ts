/**
 * Wires the quorum detector to SWIM: the live count is the members of this node's own
 * cluster (the adopted members view) that SWIM sees alive, this node included; a suspect
 * does not answer probes, so it does not count. Members of another cluster do not count,
 * nor members of the view that another master's summary lists as its own (they went on
 * without this node; they still answer its probes). As for another cluster:
 * when a split heals, SWIM sees the other side alive at once, but until the two clusters
 * merge, the former minority still holds its own lineage's table and must stay read-only.
 * The same holds for members of this view that stopped answering while this side lacked a
 * majority (lapses, kept by the cluster boundary): the master counts them again only once
 * they heartbeat to it, and publishes them suspect until then; without a majority, members
 * count only those their master's view holds active.
 * The expected size is the largest count seen recently, lowered at once
 * by graceful leaves and otherwise only after the count stayed lower for
 * `quorumExpectedSizeMemoryMs`. The master's view is not used for the expectation because
 * a minority side computes its own master, whose view shrinks with the split. The side
 * that still sees the view's oldest member alive holds the tie-breaker at exactly half.
 */
import type { Millis } from '../core/clock.js';
import type { Address, MemberRecord, MembersViewData, NodeId } from '../core/model.js';
import type { GossipUpdate } from '../protocol/messages.js';
import type { MemberEntry } from './member-list.js';
import { QuorumDetector, type QuorumState } from './quorum-detector.js';
import type { SwimContext } from './swim-context.js';
import { earlier } from './swim-context.js';

/** Room left in a message for everything but its updates (type, sender, framing), bytes. */
const SIDE_MESSAGE_BASE_BYTES = 64;

/** What the cluster boundary knows about members that may follow another master. */
export interface Elsewhere {
  /** Bumped whenever an answer below may change. */
  readonly elsewhereVersion: number;
  followsOther(nodeId: NodeId): boolean;
  lapsed(nodeId: NodeId): boolean;
  noteLapse(nodeId: NodeId): void;
  clearLapses(): void;
}

/** Expected size, live count and the PartitionDetected events. */
export class QuorumWatch {
  private readonly detector: QuorumDetector;
  private expected = 1;
  private live = 1;
  private tieBreaker = true;
  private belowSince: Millis | undefined;
  private partitioned = false;
  private active = false;
  /** Whether the detector has had its first update. */
  private fed = false;

  /** The view's oldest member (the tie-breaker) and its entry here, if known. */
  private tieBreakerId: NodeId | undefined;
  private tieBreakerEntry: MemberEntry | undefined;

  /** `lineageLiveCount()` as last computed, for this view and member-list version. */
  private countedView: MembersViewData | undefined;
  private countedVersion = -1;
  private countedElsewhere = -1;
  private counted = 1;
  private countedStrict = false;

  constructor(
    private readonly rt: SwimContext,
    private readonly oldestInView: () => MemberRecord | undefined,
    private readonly currentView: () => MembersViewData | undefined,
    private readonly elsewhere: Elsewhere,
  ) {
    this.detector = new QuorumDetector({ expectedSize: 1, gracePeriodMs: rt.config.quorumGraceMs });
  }

  /** The expected cluster size in force. */
  get expectedSize(): number {
    return this.expected;
  }

  /** Starts watching (once joined). */
  start(now: Millis): void {
    this.active = true;
    this.observe(this.lineageLiveCount(), true, now);
  }

  /**
   * Members of the adopted view that are not dead in it and alive here, this node
   * included. Without a view (this node left its cluster to merge into another) only
   * this node counts.
   */
  lineageLiveCount(): number {
    const view = this.currentView();
    if (view === undefined) return 1;
    // Without a majority, only members the master publishes active count: it publishes
    // the lapsed ones suspect until they heartbeat to it.
    const strict = this.lacksMajority();
    if (view === this.countedView && this.rt.members.version === this.countedVersion && this.elsewhere.elsewhereVersion === this.countedElsewhere && strict === this.countedStrict) return this.counted;
    let n = 0;
    for (const r of view.members) {
      if (r.status === 'dead' || (strict && r.status === 'suspect' && r.nodeId !== this.rt.selfId)) continue;
      if (r.nodeId === this.rt.selfId) n++;
      else if (this.rt.members.get(r.nodeId)?.state === 'alive' && !this.elsewhere.followsOther(r.nodeId) && !this.elsewhere.lapsed(r.nodeId)) n++;
    }
    this.countedStrict = strict;
    this.countedView = view;
    this.countedVersion = this.rt.members.version;
    this.countedElsewhere = this.elsewhere.elsewhereVersion;
    this.counted = Math.max(1, n);
    return this.counted;
  }

  stop(): void {
    this.active = false;
    this.fed = false;
  }

  /** A member left gracefully: the cluster is meant to be smaller now. */
  onGracefulLeave(now: Millis): void {
    if (!this.active) return;
    this.expected = Math.max(1, this.expected - 1, this.live);
    this.detector.setExpectedSize(this.expected, now);
  }

  /** Reports the current live count and tie-breaker; emits on a change of verdict. */
  observe(liveCount: number, holdsTieBreaker: boolean, now: Millis): void {
    if (!this.active) return;
    // Unchanged inputs cannot change the verdict; the grace period's end is a tick deadline.
    if (this.fed && liveCount === this.live && holdsTieBreaker === this.tieBreaker) return;
    this.fed = true;
    this.live = liveCount;
    this.tieBreaker = holdsTieBreaker;
    if (liveCount >= this.expected) {
      this.belowSince = undefined;
      if (liveCount > this.expected) {
        this.expected = liveCount;
        this.detector.setExpectedSize(liveCount, now);
      }
    } else if (this.belowSince === undefined) this.belowSince = now;
    const hadMajority = this.detector.partitionedAfter() === undefined;
    this.detector.update(liveCount, now, { holdsTieBreaker });
    const hasMajority = this.detector.partitionedAfter() === undefined;
    if (hadMajority && !hasMajority) {
      this.noteLapses();
      this.tellSide();
    } else if (!hadMajority && hasMajority) this.elsewhere.clearLapses();
    this.report(now);
  }

  /**
   * This node just lost its majority: it tells each member it still counts, directly,
   * which members of the view it no longer counts. Gossip alone does not get this across
   * a split: each update goes `retransmitLimit` times to random members, alive or
   * suspect, and in a split most of those are across the cut, so a member of this side
   * could miss a suspicion and keep counting (and accepting writes) for several probe
   * rounds longer. With it, a side turns read-only together, at its fastest prober's pace.
   * At most one message per member counted, and those are fewer than half the cluster.
   */
  private tellSide(): void {
    const view = this.currentView();
    if (view === undefined) return;
    const { members, selfId, config } = this.rt;
    const claims: GossipUpdate[] = [];
    const side: Address[] = [];
    let claimBytes = 0;
    const bytesMax = this.rt.messageBudgetBytes - SIDE_MESSAGE_BASE_BYTES;
    for (const r of view.members) {
      if (r.status === 'dead' || r.nodeId === selfId) continue;
      const entry = members.get(r.nodeId);
      if (entry === undefined) continue;
      if (entry.state === 'alive') {
        if (!this.elsewhere.followsOther(r.nodeId)) side.push(entry.address);
        continue;
      }
      if (entry.state !== 'suspect' && entry.state !== 'dead') continue;
      if (claims.length >= config.gossipUpdatesPerMessageMax) continue;
      const claim: GossipUpdate =
        entry.state === 'suspect'
          ? { type: 'Suspect', node: entry.nodeId, incarnation: entry.incarnation, from: selfId }
          : { type: 'Dead', node: entry.nodeId, incarnation: entry.incarnation, from: selfId, left: false };
      const bytes = this.rt.sizeOfUpdate(claim);
      if (claimBytes + bytes > bytesMax) continue;
      claimBytes += bytes;
      claims.push(claim);
    }
    if (claims.length === 0) return;
    for (const to of side) this.rt.send(to, { type: 'Gossip', from: selfId, updates: claims });
    this.rt.counters.quorumLossTold += side.length;
  }

  /**
   * Whether this side holds the tie-breaker: it sees the view's oldest member alive or
   * suspect (or is it). Asked after every input, so the oldest's entry is looked up once
   * per view and then kept current by `onMemberChange`.
   */
  holdsTieBreaker(): boolean {
    const oldest = this.oldestInView();
    if (oldest === undefined || oldest.nodeId === this.rt.selfId) return true;
    if (oldest.nodeId !== this.tieBreakerId) {
      this.tieBreakerId = oldest.nodeId;
      this.tieBreakerEntry = this.rt.members.get(oldest.nodeId);
    }
    return this.tieBreakerEntry?.state === 'alive';
  }

  /** An entry changed or was added (the only way a forgotten member comes back). */
  onMemberChange(entry: MemberEntry): void {
    if (entry.nodeId === this.tieBreakerId) this.tieBreakerEntry = entry;
    if (entry.state === 'alive' || !this.fed || this.detector.partitionedAfter() === undefined) return;
    const view = this.currentView();
    if (view !== undefined && view.members.some((r) => r.nodeId === entry.nodeId && r.status !== 'dead')) this.elsewhere.noteLapse(entry.nodeId);
  }

  /**
   * This side just lost its majority: every member of the view it no longer counts lapses.
   * Once the split heals they answer probes again, but those of the other side may follow
   * another master by then (whose side may have moved partitions at the epochs this side's
   * master would choose next); counting them on their answers alone let both sides hold a
   * majority, with one member counted by each, and both serve writes.
   */
  private noteLapses(): void {
    const view = this.currentView();
    if (view === undefined) return;
    for (const r of view.members) {
      if (r.status === 'dead' || r.nodeId === this.rt.selfId) continue;
      if (this.rt.members.get(r.nodeId)?.state !== 'alive' || this.elsewhere.followsOther(r.nodeId)) this.elsewhere.noteLapse(r.nodeId);
    }
  }

  nextDeadline(): Millis | undefined {
    if (!this.active) return undefined;
    const forget = this.belowSince === undefined ? undefined : this.belowSince + this.rt.config.quorumExpectedSizeMemoryMs;
    const after = this.detector.partitionedAfter();
    // The detector turns partitioned strictly after `after`; one millisecond later is the first tick that sees it.
    return earlier(forget, !this.partitioned && after !== undefined ? after + 1 : undefined);
  }

  tick(now: Millis): void {
    if (!this.active) return;
    if (this.belowSince !== undefined && now >= this.belowSince + this.rt.config.quorumExpectedSizeMemoryMs) {
      this.belowSince = undefined;
      this.expected = Math.max(1, this.live);
      this.detector.setExpectedSize(this.expected, now);
    }
    this.report(now);
  }

  /** True while this node's side counts fewer than a majority (from the first count, before any grace period). */
  lacksMajority(): boolean {
    return this.fed && this.detector.partitionedAfter() !== undefined;
  }

  state(now: Millis): QuorumState {
    return this.detector.state(now);
  }

  isReadOnly(now: Millis): boolean {
    return this.active && this.detector.isReadOnly(now);
  }

  private report(now: Millis): void {
    // The detector's rule for 'partitioned' (below quorum for longer than the grace
    // period), without building a state object on every tick.
    const after = this.detector.partitionedAfter();
    const partitioned = after !== undefined && now > after;
    if (partitioned === this.partitioned) return;
    this.partitioned = partitioned;
    this.rt.emit({ type: 'PartitionDetected', at: now, partitioned, liveCount: this.live, expectedSize: this.expected });
  }
}

/**
 * Split-brain detection and merge, the membership side. After a network split heals,
 * two clusters of the same id each have a master, a view and a partition table. The
 * master probes addresses outside its view (seeds, failed members, live strangers) every
 * `splitBrainProbeIntervalMs`, and at once when a foreign master tells it to rejoin; the
 * master of the other cluster answers with its summary. Both sides apply the same rule
 * (`shouldMerge`): the loser's master tells its members to merge, then merges itself;
 * each merging node leaves its view and joins the winner as an ordinary joiner.
 */
import type { Millis } from '../core/clock.js';
import type { Address, MemberRecord, NodeId } from '../core/model.js';
import { shuffleInPlace } from '../core/random.js';
import type { ClusterSummary, MergeRequest, SplitBrainProbe, SplitBrainProbeResponse } from '../protocol/messages.js';
import type { Mastership } from './mastership.js';
import type { SwimContext } from './swim-context.js';
import { earlier } from './swim-context.js';
import { shouldMerge } from './split-brain-decision.js';

/**
 * A probe to one address, or a forward of one foreign master's probe, is sent at most
 * once per this time, so a burst of rejoin hints or probes costs one message.
 */
export const SPLIT_BRAIN_RESEND_MIN_MS = 1000;

/** Addresses and masters whose last probe or forward time is remembered. */
const RESEND_TRACKED_MAX = 256;

/** What the split-brain logic needs from the rest of the machine. */
export interface SplitBrainHooks {
  /** Seed addresses (this node excluded). */
  seeds(): readonly Address[];
  /** Addresses of failed members still remembered for reconnection. */
  failedAddresses(): readonly Address[];
  /** Announce this node under a new incarnation (members of the winner may hold it dead). */
  reannounce(): void;
  /** Set (true) or clear this node's `MERGING_TAG`. */
  markMerging(merging: boolean, now: Millis): void;
  /** True while this node's side lacks a majority (see `QuorumWatch.lacksMajority`). */
  lacksMajority(): boolean;
}

/** A merge this node is carrying out: joining the winner through `seeds`. */
interface Merge {
  readonly target: ClusterSummary;
  readonly seeds: readonly Address[];
  nextAttemptAt: Millis;
  readonly giveUpAt: Millis;
}

/** The loser master's own merge, due once its members were told. */
interface MasterMerge {
  readonly at: Millis;
  readonly local: ClusterSummary;
  readonly target: ClusterSummary;
  readonly seeds: readonly Address[];
}

/** Probing for other clusters, deciding, and merging into the winner. */
export class SplitBrain {
  private running = false;
  private nextProbeAt: Millis | undefined;
  private merge: Merge | undefined;
  /** Masters of merge targets left for the cluster they merged into (see `redirect`); cleared when the merge ends. */
  private readonly abandoned = new Set<Address>();
  private masterMerge: MasterMerge | undefined;
  private readonly sentAt = new Map<string, Millis>();

  constructor(
    private readonly rt: SwimContext,
    private readonly mastership: Mastership,
    private readonly hooks: SplitBrainHooks,
  ) {}

  /** True while this node is leaving its cluster for another one. */
  get merging(): boolean {
    return this.merge !== undefined || this.masterMerge !== undefined;
  }

  /** Starts the probe rounds; the first at a random offset within one interval. */
  start(now: Millis): void {
    if (this.running) return;
    this.running = true;
    this.nextProbeAt = now + this.rt.random.int(this.rt.config.splitBrainProbeIntervalMs) + 1;
  }

  stop(): void {
    this.running = false;
    this.nextProbeAt = undefined;
    this.merge = undefined;
    this.masterMerge = undefined;
  }

  nextDeadline(): Millis | undefined {
    const joinAt = this.merge === undefined ? undefined : earlier(this.merge.nextAttemptAt, this.merge.giveUpAt);
    return earlier(earlier(this.nextProbeAt, this.masterMerge?.at), joinAt);
  }

  tick(now: Millis): void {
    if (!this.running) return;
    const own = this.masterMerge;
    if (own !== undefined && now >= own.at) this.rejoin(own.local, own.target, own.seeds, now);
    const merge = this.merge;
    if (merge !== undefined) {
      if (now >= merge.giveUpAt) this.giveUp(now);
      else if (now >= merge.nextAttemptAt) this.sendJoin(merge, now);
    }
    if (this.nextProbeAt !== undefined && now >= this.nextProbeAt) {
      this.nextProbeAt = now + this.rt.config.splitBrainProbeIntervalMs;
      if (this.mastership.isMaster() && !this.merging) this.probeRound();
    }
  }

  /** This node's cluster as its view describes it, or undefined outside any cluster. */
  summary(): ClusterSummary | undefined {
    const { mastership } = this;
    const view = mastership.book.view;
    const masterId = mastership.master;
    if (!mastership.joined || view === undefined || masterId === undefined) return undefined;
    const record = mastership.book.record(masterId);
    const masterAddress = masterId === this.rt.selfId ? this.rt.members.self().address : mastership.masterAddress();
    if (record === undefined || masterAddress === undefined) return undefined;
    const members: NodeId[] = [];
    for (const r of view.members) if (this.holds(r)) members.push(r.nodeId);
    return { clusterId: this.rt.clusterId, masterId, masterAddress, masterJoinVersion: record.joinVersion, memberCount: members.length, viewVersion: view.version, members };
  }

  /**
   * Whether this cluster really holds the member of `record`: it is counted in the summary
   * and claimed to the other master, which stops counting its own members that the list
   * names. Not a member another master's summary claimed: a master back from a stall would
   * otherwise win the merge with members that left it. Without a majority, the quorum's
   * rule: only members the view holds active and alive here, never a lapsed one. Such a
   * side still lists the other side's members it only suspected, and after the heal they
   * answer it while they follow their own master; counted and claimed, the smaller side
   * ties the larger one, or takes its member away from its count, and the larger side merges
   * into it. A side with a majority keeps counting its suspects: a false suspicion in the
   * churn of a heal must not hand the merge to the smaller side.
   */
  private holds(record: MemberRecord): boolean {
    const { boundary } = this.mastership;
    if (record.status === 'dead' || boundary.followsOther(record.nodeId) || boundary.lapsed(record.nodeId)) return false;
    if (record.nodeId === this.rt.selfId || !this.hooks.lacksMajority()) return true;
    return record.status === 'active' && this.rt.members.get(record.nodeId)?.state === 'alive';
  }

  /** A node of another cluster showed itself (see `MastershipHooks.onForeignMaster`): probe it now. */
  onForeignMaster(address: Address, now: Millis): void {
    if (!this.running || !this.mastership.isMaster() || this.merging) return;
    const own = this.summary();
    if (own !== undefined && this.allow(`a|${address}`, now)) this.rt.send(address, { type: 'SplitBrainProbe', from: this.rt.selfId, summary: own });
  }

  /**
   * A probe from another cluster's master. A member passes it to its own master; the
   * master answers with its summary and, when its cluster loses, probes back to confirm
   * against the other master's current summary before merging.
   */
  onProbe(probe: SplitBrainProbe, now: Millis): void {
    const theirs = probe.summary;
    const own = this.acceptable(theirs);
    if (own === undefined) return;
    if (!this.mastership.isMaster()) {
      const master = this.mastership.masterAddress();
      if (master !== undefined && this.allow(`f|${theirs.masterId}`, now)) this.rt.send(master, probe);
      return;
    }
    this.rt.send(theirs.masterAddress, { type: 'SplitBrainProbeResponse', from: this.rt.selfId, summary: own });
    if (shouldMerge(own, theirs) && this.allow(`a|${theirs.masterAddress}`, now)) {
      this.rt.send(theirs.masterAddress, { type: 'SplitBrainProbe', from: this.rt.selfId, summary: own });
    }
  }

  /** The other master's answer: its current summary. The loser merges. */
  onProbeResponse(response: SplitBrainProbeResponse, now: Millis): void {
    const theirs = response.summary;
    const own = this.acceptable(theirs);
    if (own === undefined || !this.mastership.isMaster() || !shouldMerge(own, theirs)) return;
    this.beginMasterMerge(own, theirs, now);
  }

  /** This node's master says their cluster merges into `request.target`. */
  onMergeRequest(request: MergeRequest, now: Millis): void {
    const merge = this.merge;
    if (merge !== undefined && request.from === merge.target.masterId && request.from !== this.rt.selfId && request.target.clusterId === this.rt.clusterId) {
      this.redirect(merge, request, now);
      return;
    }
    const own = this.summary();
    const valid = own !== undefined && !this.merging && request.from !== this.rt.selfId && request.from === this.mastership.master;
    if (!valid || request.target.clusterId !== this.rt.clusterId) {
      this.rt.counters.ignored++;
      return;
    }
    this.rejoin(own, request.target, request.seeds, now);
  }

  /**
   * The cluster this node is joining merges on into another before it admitted this node
   * (a chain of merges after a heal): its members were told, but this node, not yet one of
   * them, would be admitted into a view whose master has left and then follow a master
   * that no longer publishes, with no view of the cluster everyone else joined. Follow the
   * merge instead: join the new target, under a fresh give-up time.
   */
  private redirect(merge: Merge, request: MergeRequest, now: Millis): void {
    const next: Merge = {
      target: request.target,
      seeds: request.seeds.length > 0 ? request.seeds : [request.target.masterAddress],
      nextAttemptAt: now,
      giveUpAt: Math.max(merge.giveUpAt, now + this.rt.config.mergeJoinTimeoutMs),
    };
    this.merge = next;
    // Its admission, should it still come, is into the view the old target's master left.
    this.abandoned.add(merge.target.masterAddress);
    this.sendJoin(next, now);
  }

  /** Whether a JoinResponse from `from` may admit this node: not from the master of a merge target it left. */
  acceptsJoinResponseFrom(from: Address): boolean {
    return this.merge === undefined || !this.abandoned.has(from);
  }

  /** The winner admitted this node: the merge is over. True when a merge was running. */
  onAdmitted(now: Millis): boolean {
    if (this.merge === undefined) return false;
    this.merge = undefined;
    this.abandoned.clear();
    this.hooks.markMerging(false, now);
    this.rt.emit({ type: 'MergeCompleted', at: now, formed: false, master: this.mastership.master });
    return true;
  }

  /** Own summary when `theirs` is another master's cluster of the same id and this node can act on it. */
  private acceptable(theirs: ClusterSummary): ClusterSummary | undefined {
    if (this.running && !this.merging && theirs.clusterId === this.rt.clusterId && theirs.masterId !== this.mastership.master) {
      this.mastership.boundary.noteForeignMembers(theirs.masterId, theirs.members);
    }
    const own = this.running && !this.merging ? this.summary() : undefined;
    if (own === undefined || theirs.clusterId !== this.rt.clusterId || theirs.masterId === own.masterId) {
      this.rt.counters.ignored++;
      return undefined;
    }
    return own;
  }

  private beginMasterMerge(own: ClusterSummary, target: ClusterSummary, now: Millis): void {
    const seeds = [target.masterAddress];
    const request: MergeRequest = { type: 'MergeRequest', from: this.rt.selfId, target, seeds };
    this.mastership.holdPublishing();
    for (const r of this.mastership.book.view?.members ?? []) {
      if (r.nodeId !== this.rt.selfId && r.status !== 'dead') this.rt.send(r.address, request);
    }
    this.masterMerge = { at: now + this.rt.config.mergeMasterDelayMs, local: own, target, seeds };
  }

  /** Leaves the current view and starts joining the winner. */
  private rejoin(local: ClusterSummary, target: ClusterSummary, seeds: readonly Address[], now: Millis): void {
    this.masterMerge = undefined;
    this.rt.emit({ type: 'MergeStarted', at: now, local, target });
    this.mastership.leaveForMerge(now);
    this.hooks.reannounce();
    // Before the join is built: it carries the node's tags into the winner's view.
    this.hooks.markMerging(true, now);
    const merge: Merge = { target, seeds: seeds.length > 0 ? seeds : [target.masterAddress], nextAttemptAt: now, giveUpAt: now + this.rt.config.mergeJoinTimeoutMs };
    this.merge = merge;
    this.sendJoin(merge, now);
  }

  private sendJoin(merge: Merge, now: Millis): void {
    merge.nextAttemptAt = now + this.rt.config.mergeJoinRetryMs;
    this.rt.counters.joinAttempts++;
    const request = this.mastership.joinRequest(now);
    for (const seed of merge.seeds) this.rt.send(seed, request);
  }

  /** Not admitted in time: a cluster of one, which a later probe round merges. */
  private giveUp(now: Millis): void {
    this.merge = undefined;
    this.abandoned.clear();
    this.hooks.markMerging(false, now);
    this.mastership.form(now);
    this.rt.emit({ type: 'MergeCompleted', at: now, formed: true, master: this.mastership.master });
  }

  /** Probes up to `splitBrainProbeTargetsMax` addresses outside the view. */
  private probeRound(): void {
    const own = this.summary();
    if (own === undefined) return;
    const inView = new Set<Address>();
    for (const r of this.mastership.book.view?.members ?? []) inView.add(r.address);
    const candidates = new Set<Address>();
    for (const entry of this.rt.members.all()) {
      const live = entry.state === 'alive' || entry.state === 'suspect';
      if (live && entry.nodeId !== this.rt.selfId && this.mastership.book.record(entry.nodeId) === undefined && !this.mastership.isAdmitted(entry.nodeId)) {
        candidates.add(entry.address);
      }
    }
    for (const address of this.hooks.failedAddresses()) candidates.add(address);
    for (const address of this.hooks.seeds()) candidates.add(address);
    const targets = shuffleInPlace([...candidates].filter((a) => !inView.has(a)), this.rt.random).slice(0, this.rt.config.splitBrainProbeTargetsMax);
    const probe: SplitBrainProbe = { type: 'SplitBrainProbe', from: this.rt.selfId, summary: own };
    for (const address of targets) this.rt.send(address, probe);
  }

  /** Rate limit per key (an address or a foreign master id), bounded in size. */
  private allow(key: string | NodeId, now: Millis): boolean {
    const last = this.sentAt.get(key);
    if (last !== undefined && now - last < SPLIT_BRAIN_RESEND_MIN_MS) return false;
    this.sentAt.delete(key);
    if (this.sentAt.size >= RESEND_TRACKED_MAX) this.sentAt.delete(this.sentAt.keys().next().value as string);
    this.sentAt.set(key, now);
    return true;
  }
}

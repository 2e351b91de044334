/**
 * The master's decisions and the members' side of them. The master (oldest active member
 * of the view) admits joiners and hands out join versions, turns SWIM state into a
 * versioned MembersView that it publishes to every member, hears members' heartbeats and
 * complaints and decides on them, and tells nodes outside its view to rejoin. A member
 * forwards joins to the master, complains when it starts suspecting someone, sends
 * periodic heartbeats, and rejoins when a newer view leaves it out. Joins are answered by
 * the `JoinDesk`, view records built by `ViewRecords`, heartbeats and complaints carried
 * by `MemberReports`, and what belongs to another cluster (after a split) decided by the
 * `ClusterBoundary`.
 */
import type { Millis } from '../core/clock.js';
import { assert, ErrorCatalog, FlotillaError, type ErrorCode } from '../core/errors.js';
import { compareIncarnation } from '../core/incarnation.js';
import type { Address, MembersViewData, NodeId, NodeInfo } from '../core/model.js';
import type {
  ExplicitSuspicion,
  Heartbeat,
  JoinRequest,
  JoinResponse,
  LeaveRequest,
  MembersUpdate,
} from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { Admissions, type AuthTokenMaker, type JoinVerifier } from './admission.js';
import { ClusterBoundary } from './cluster-boundary.js';
import { JoinDesk } from './join-desk.js';
import { compareAge, sameRecords, ViewBook } from './master-view.js';
import { MemberReports } from './member-reports.js';
import type { SwimContext as Runtime } from './swim-context.js';
import { earlier } from './swim-context.js';
import type { Transitions } from './transitions.js';
import { ViewRecords } from './view-records.js';

export { JOIN_FORWARD_DEDUP_MS, SEED_STILL_JOINING } from './join-desk.js';

/** What the mastership asks of the machine. */
export interface MastershipHooks {
  readonly verifyJoin: JoinVerifier;
  readonly makeAuthToken: AuthTokenMaker;
  /** This node was admitted by a master whose address is `master`. */
  onAdmitted(now: Millis, master: Address | undefined): void;
  /** The cluster refused this node for good. */
  onRejected(error: FlotillaError, now: Millis): void;
  /** A seed at `address` is up but still joining. */
  onSeedJoining(address: Address): void;
  /** Probe `nodeId` out of turn (a complaint the master could not yet confirm). */
  probeSoon(nodeId: NodeId): void;
  /**
   * The node at `address` seems to be of another cluster of this id (its master told this
   * node to rejoin, or it sent a view or a ping from outside this node's view): on a master,
   * probe it for a split brain.
   */
  onForeignMaster(address: Address, now: Millis): void;
}

/** Master duties and member duties around the members view. */
export class Mastership {
  readonly book = new ViewBook();
  /** True once this node is part of a cluster (admitted or formed). */
  joined = false;
  private masterId: NodeId | undefined;
  private readonly admitted: Admissions;
  private readonly records: ViewRecords;
  /** Heartbeats, complaints and the leave announcement. */
  readonly reports: MemberReports;
  private readonly desk: JoinDesk;
  /** Foreign-cluster rules, merge state and rejoin answers. */
  readonly boundary: ClusterBoundary;
  private inViewOnce = false;
  private dirty = false;
  /** Publish even when the records did not change (a member missed itself in the view). */
  private forcePublish = false;
  private dirtySince: Millis | undefined;
  private lastPublishAt: Millis | undefined;
  private masterCheck = false;

  constructor(
    private readonly rt: Runtime,
    private readonly transitions: Transitions,
    private readonly hooks: MastershipHooks,
  ) {
    this.admitted = new Admissions(rt.config.admissionsPendingMax, rt.config.admissionTimeoutMs);
    this.reports = new MemberReports(rt, transitions, {
      joined: () => this.joined,
      isMaster: () => this.isMaster(),
      masterId: () => this.masterId,
      masterAddress: () => this.masterAddress(),
      viewVersion: () => this.book.view?.version ?? 0,
      probeSoon: (id) => hooks.probeSoon(id),
    });
    this.records = new ViewRecords(rt, this.book, this.admitted, (id) => this.boundary.lapsed(id));
    this.desk = new JoinDesk(rt, this.book, this.admitted, {
      verifyJoin: hooks.verifyJoin,
      joined: () => this.joined,
      isMaster: () => this.isMaster(),
      masterAddress: () => this.masterAddress(),
      onSeedJoining: (address) => hooks.onSeedJoining(address),
      forcePublish: () => {
        this.forcePublish = true;
      },
      markChanged: () => this.markChanged(),
      leavingForMerge: () => this.boundary.publishHeld,
    });
    this.boundary = new ClusterBoundary(rt, this.book, { joined: () => this.joined, master: () => this.masterId, republish: () => this.markChanged() });
  }

  /** The master this node computes, if any. */
  get master(): NodeId | undefined {
    return this.masterId;
  }

  /** True when this node is the master. */
  isMaster(): boolean {
    return this.joined && this.masterId === this.rt.selfId;
  }

  /** Address of the master, if known and not this node. */
  masterAddress(): Address | undefined {
    if (this.masterId === undefined || this.masterId === this.rt.selfId) return undefined;
    return this.rt.members.get(this.masterId)?.address ?? this.book.record(this.masterId)?.address;
  }

  /** True while `nodeId` is admitted but not yet in the published view. */
  isAdmitted(nodeId: NodeId): boolean {
    return this.admitted.has(nodeId);
  }

  /**
   * Leaves the current cluster to join another (a split-brain merge): forgets the view
   * and the master and stops member duties until admitted again. The highest versions
   * seen are kept, so a later publish by this node goes above them.
   */
  leaveForMerge(now: Millis): void {
    this.joined = false;
    this.boundary.leaveForMerge();
    this.inViewOnce = false;
    this.dirty = false;
    this.dirtySince = undefined;
    this.forcePublish = false;
    this.records.leavingIds.clear();
    this.book.forget();
    this.updateMaster(now);
  }

  /**
   * Stops publishing views: this master told its members to merge into another cluster,
   * and a later view of this lineage must not reach them after they joined the winner.
   */
  holdPublishing(): void {
    this.boundary.publishHeld = true;
  }

  /** Something changed that may change the view or the master. */
  markChanged(): void {
    this.dirty = true;
    this.masterCheck = true;
  }

  /**
   * Member `nodeId` changed. The view may need publishing; the master needs recomputing
   * only when the change touches the master or a member older than it, which keeps the
   * O(view) master rule off the path of routine changes.
   */
  memberChanged(nodeId: NodeId): void {
    this.dirty = true;
    if (this.masterCheck) return;
    const record = this.book.record(nodeId);
    if (record === undefined) return;
    const master = this.masterId === undefined ? undefined : this.book.record(this.masterId);
    if (master === undefined || nodeId === this.masterId || compareAge(record, master) < 0) this.masterCheck = true;
  }

  /** Starts a new cluster with this node as its only member and master. */
  form(now: Millis): void {
    const self = this.rt.members.self();
    const joinVersion = this.book.maxJoinVersionSeen + 1;
    this.book.noteJoinVersion(joinVersion);
    const record = this.records.recordFor(self.nodeId, joinVersion, this.rt.self.clientAddress);
    const view: MembersViewData = { version: this.book.maxVersionSeen + 1, members: record === undefined ? [] : [record] };
    this.joined = true;
    this.adopt(view, now);
    this.updateMaster(now);
  }

  /** Begins member duties (heartbeats) once joined. */
  start(now: Millis): void {
    this.reports.start(now);
  }

  stop(): void {
    this.joined = false;
    this.reports.stop();
    this.dirty = false;
  }

  /** After every input: recompute the master if anything relevant changed. */
  afterInput(now: Millis): void {
    if (this.masterCheck) this.updateMaster(now);
    if (this.dirty && this.dirtySince === undefined) this.dirtySince = now;
  }

  nextDeadline(): Millis | undefined {
    const publishAt = this.isMaster() && this.dirty && !this.boundary.publishHeld ? this.publishDueAt() : undefined;
    return earlier(publishAt, this.reports.nextDeadline());
  }

  tick(now: Millis): void {
    if (this.isMaster() && this.dirty && !this.boundary.publishHeld) {
      const due = this.publishDueAt();
      if (due !== undefined && now >= due) this.publish(now);
    }
    this.reports.tick(now);
  }

  /** This node's JoinRequest, sent at `now` (its clock, which the master checks against its own). */
  joinRequest(now: Millis): JoinRequest {
    const self = this.rt.members.self();
    const node: NodeInfo = { ...this.rt.self, address: self.address, tags: self.tags };
    const base = { type: 'JoinRequest' as const, node, clusterId: this.rt.clusterId, protocolVersion: PROTOCOL_VERSION, sentAt: Math.floor(now) };
    // Fields in wire order, as a decoded copy has them (traces compare messages as JSON).
    const { sentAt, ...head } = base;
    return { ...head, authToken: this.hooks.makeAuthToken(base), sentAt };
  }

  onJoinRequest(req: JoinRequest, now: Millis): void {
    this.desk.onJoinRequest(req, now);
  }

  onJoinResponse(resp: JoinResponse, now: Millis): void {
    if (!resp.accepted) {
      const code = resp.rejectCode !== undefined && resp.rejectCode in ErrorCatalog ? (resp.rejectCode as ErrorCode) : 'FLO_JOIN_REJECTED';
      // A retryable refusal (a seed still joining) is not an answer: keep trying.
      if (ErrorCatalog[code].retryable || this.joined) return;
      this.hooks.onRejected(new FlotillaError(code, resp.reason), now);
      return;
    }
    if (resp.view !== undefined) this.adopt(resp.view, now);
    if (this.joined) return;
    this.joined = true;
    this.updateMaster(now);
    this.hooks.onAdmitted(now, this.masterAddress());
  }

  /**
   * A view published by the node at `from`. Only a publisher in this node's own view is
   * listened to: after a split heals, views the other side's master sent during the split
   * (held by TCP while the link was down) arrive, and adopting one would move this node
   * into that cluster without a merge, keeping its own partition table and data. On a
   * master, such a view is a sign of another cluster: it probes the sender.
   */
  onMembersUpdate(from: Address, msg: MembersUpdate, now: Millis): void {
    if (!this.joined) {
      this.rt.counters.ignored++;
      return;
    }
    if (this.boundary.isOtherCluster(from)) {
      this.rt.counters.ignored++;
      if (this.isMaster()) this.hooks.onForeignMaster(from, now);
      return;
    }
    this.adopt(msg.view, now);
  }

  onLeaveRequest(msg: LeaveRequest): void {
    if (!this.isMaster() || this.book.record(msg.nodeId) === undefined) return;
    this.records.leavingIds.add(msg.nodeId);
    this.markChanged();
  }

  onHeartbeat(from: Address, hb: Heartbeat, now: Millis): void {
    if (!this.isMaster()) {
      // A node outside this view still takes this node for its master (it missed a
      // merge, or this node was master once): tell it to rejoin through here.
      if (this.joined && this.book.record(hb.from) === undefined) this.boundary.tellToRejoin(hb.from, this.rt.members.get(hb.from)?.address ?? from, now);
      else this.rt.counters.ignored++;
      return;
    }
    const address = this.rt.members.get(hb.from)?.address ?? this.book.record(hb.from)?.address ?? from;
    if (this.noteTalker(hb.from, address, now)) return;
    if (this.boundary.followsHere(hb.from)) this.markChanged();
    this.book.noteVersion(hb.viewVersion);
    const view = this.book.view;
    if (view !== undefined && hb.viewVersion < view.version) this.rt.send(address, { type: 'MembersUpdate', view });
    const count = Math.min(hb.suspected.length, this.rt.config.heartbeatSuspectedMax);
    for (let i = 0; i < count; i++) this.reports.complaint(hb.from, hb.suspected[i]!, now);
  }

  onExplicitSuspicion(msg: ExplicitSuspicion, now: Millis): void {
    if (msg.target !== this.rt.selfId || !this.joined || this.transitions.leaving) {
      this.rt.counters.ignored++;
      return;
    }
    const address = this.rt.members.get(msg.from)?.address ?? this.book.record(msg.from)?.address;
    if (this.boundary.isForeignMaster(msg.from)) {
      // Another cluster's master: a split brain for the masters to settle, not a rejoin.
      if (address !== undefined && this.isMaster()) this.hooks.onForeignMaster(address, now);
      else this.rt.counters.ignored++;
      return;
    }
    this.rejoin(now, address);
  }

  /**
   * On the master: a node talking to it that is neither in the view nor admitted is told
   * to rejoin (rate-limited per node) and probed for a split brain (a member passes the
   * probe to its own master). True when it was such a stranger.
   */
  noteTalker(nodeId: NodeId, address: Address, now: Millis): boolean {
    if (!this.isMaster() || this.book.record(nodeId) !== undefined || this.admitted.has(nodeId)) return false;
    this.boundary.tellToRejoin(nodeId, address, now);
    // It may be a member of another cluster (a healed split): its master hears of this one now.
    this.hooks.onForeignMaster(address, now);
    return true;
  }


  private adopt(view: MembersViewData, now: Millis): void {
    if (!this.book.offer(view)) return;
    // Every member receives the view itself, so what it teaches is not re-gossiped.
    for (const r of view.members) {
      if (r.nodeId === this.rt.selfId || r.status === 'dead') continue;
      // Mostly the members are known here at that incarnation already, which changes nothing.
      const known = this.rt.members.get(r.nodeId);
      const revive = this.boundary.mergeJoin && known !== undefined && known.state !== 'alive';
      if (!revive && known !== undefined && compareIncarnation(r.incarnation, known.incarnation) <= 0) continue;
      this.transitions.applyAlive({ type: 'Alive', node: r.nodeId, incarnation: r.incarnation, address: r.address, tags: r.tags }, now, false, this.boundary.mergeJoin);
    }
    this.rt.emit({ type: 'ViewChanged', at: now, view });
    this.masterCheck = true;
    this.dirty = true;
    if (this.book.record(this.rt.selfId) !== undefined) {
      this.inViewOnce = true;
      this.boundary.inView();
    }
    else if (this.inViewOnce && this.joined && !this.transitions.leaving) this.rejoin(now, this.viewMasterAddress());
  }

  private updateMaster(now: Millis): void {
    this.masterCheck = false;
    const isLive = (id: NodeId): boolean => {
      if (id === this.rt.selfId) return this.joined && !this.transitions.leaving;
      const state = this.rt.members.get(id)?.state;
      return state === 'alive' || state === 'suspect';
    };
    const next = this.book.master(isLive)?.nodeId;
    if (next === this.masterId) return;
    const previous = this.masterId;
    this.masterId = next;
    // What other masters said about this view's members was learned as its master.
    this.boundary.forgetElsewhere();
    this.rt.emit({ type: 'MasterChanged', at: now, previous, master: next });
    if (next === this.rt.selfId) this.dirty = true;
  }

  private publishDueAt(): Millis | undefined {
    if (this.dirtySince === undefined) return undefined;
    const earliestNext = this.lastPublishAt === undefined ? this.dirtySince : this.lastPublishAt + this.rt.config.viewPublishIntervalMinMs;
    return Math.max(this.dirtySince, earliestNext);
  }

  private publish(now: Millis): void {
    this.dirty = false;
    this.dirtySince = undefined;
    const records = this.records.build(now);
    const current = this.book.view;
    const force = this.forcePublish;
    this.forcePublish = false;
    if (!force && current !== undefined && sameRecords(records, current.members)) return;
    const view: MembersViewData = { version: Math.max(this.book.maxVersionSeen, current?.version ?? 0) + 1, members: records };
    assert(current === undefined || view.version > current.version, 'members view versions only go up');
    this.lastPublishAt = now;
    this.rt.counters.viewsPublished++;
    this.adopt(view, now);
    this.dirty = false;
    this.dirtySince = undefined;
    const update: MembersUpdate = { type: 'MembersUpdate', view };
    const bytes = this.rt.sizeOfMessage(update);
    for (const r of records) if (r.nodeId !== this.rt.selfId) this.rt.send(r.address, update, 'tcp', bytes);
  }

  private rejoin(now: Millis, to: Address | undefined): void {
    if (to === undefined || !this.boundary.mayRejoin(now)) return;
    this.rt.counters.rejoins++;
    this.transitions.reannounce();
    this.rt.send(to, this.joinRequest(now));
  }

  private viewMasterAddress(): Address | undefined {
    const isLive = (id: NodeId): boolean => id !== this.rt.selfId && this.rt.members.get(id)?.state === 'alive';
    return this.book.master(isLive)?.address;
  }
}

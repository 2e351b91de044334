/**
 * Where this node's cluster ends, for the mastership: which senders belong to another
 * cluster (after a split heals, two clusters of one id talk to each other, and neither may
 * take the other's views or accusations), the state a split-brain merge holds while this
 * node leaves its cluster for the winner, and the rate-limited "rejoin" answers to nodes
 * outside the view.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeId } from '../core/model.js';
import type { ViewBook } from './master-view.js';
import type { SwimContext as Runtime } from './swim-context.js';

/** What the boundary needs to know about this node's place in its cluster. */
export interface BoundaryContext {
  /** True once this node is part of a cluster (admitted or formed). */
  joined(): boolean;
  /** The master this node computes from its view. */
  master(): NodeId | undefined;
  /** The next view must be published even if no member's SWIM state changed. */
  republish(): void;
}

/** Foreign-cluster rules and merge state of one node. */
export class ClusterBoundary {
  /** Set while this master's cluster merges into another: it publishes no more views. */
  publishHeld = false;
  /** Set from leaving for a merge until this node sees itself in the winner's view. */
  mergeJoin = false;
  private readonly explicitSentAt = new Map<NodeId, Millis>();
  private lastRejoinAt: Millis | undefined;
  /**
   * Members of this node's view that another master of this cluster id lists as its own,
   * by that master. A master back from a stall keeps a view naming members that went on
   * without it; they answer its probes, so only the other master's summary tells.
   */
  private readonly elsewhere = new Map<NodeId, ReadonlySet<NodeId>>();
  /**
   * Members this node saw stop answering while its side lacked a majority. A member of the
   * other side answers probes again once a split heals, though it may follow another master
   * by then, so on the master its answers alone do not bring it back into the count: only
   * its heartbeat here does (members heartbeat only to the master they follow).
   */
  private readonly lapses = new Set<NodeId>();
  /** Bumped whenever `followsOther` or a lapse may answer differently, for callers that cache counts. */
  elsewhereVersion = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly book: ViewBook,
    private readonly ctx: BoundaryContext,
  ) {}

  /** This node leaves its cluster to join another (a split-brain merge). */
  leaveForMerge(): void {
    this.mergeJoin = true;
    this.publishHeld = false;
    this.forgetElsewhere();
    this.clearLapses();
  }

  /**
   * Another master's summary: those of its members that are in this node's view follow
   * it, not this node's master. A summary without a member list teaches nothing.
   */
  noteForeignMembers(masterId: NodeId, members: readonly NodeId[] | undefined): void {
    // Only a master hears the heartbeats that bring such members back into the count.
    if (members === undefined || masterId === this.rt.selfId || this.ctx.master() !== this.rt.selfId) return;
    const ours = new Set<NodeId>();
    for (const id of members) if (id !== this.rt.selfId && this.book.record(id) !== undefined) ours.add(id);
    const before = this.elsewhere.get(masterId);
    if (ours.size === 0 && before === undefined) return;
    if (ours.size === 0) this.elsewhere.delete(masterId);
    else this.elsewhere.set(masterId, ours);
    this.elsewhereVersion++;
  }

  /**
   * `nodeId` takes this node for its master (it sent a heartbeat here): it follows no other.
   * True when that ends a lapse, so the view is published again with the member active.
   */
  followsHere(nodeId: NodeId): boolean {
    const confirmed = this.lapses.delete(nodeId);
    let changed = confirmed;
    for (const [master, ids] of this.elsewhere) {
      if (master !== nodeId && !ids.has(nodeId)) continue;
      const rest = new Set(ids);
      rest.delete(nodeId);
      if (master === nodeId || rest.size === 0) this.elsewhere.delete(master);
      else this.elsewhere.set(master, rest);
      changed = true;
    }
    if (changed) this.elsewhereVersion++;
    return confirmed;
  }

  /** `nodeId` stopped answering while this side lacks a majority. */
  noteLapse(nodeId: NodeId): void {
    if (nodeId === this.rt.selfId || this.lapses.has(nodeId)) return;
    this.lapses.add(nodeId);
    this.elsewhereVersion++;
  }

  /** This side holds a majority again (or this node left its cluster): lapses no longer matter. */
  clearLapses(): void {
    if (this.lapses.size === 0) return;
    this.lapses.clear();
    this.elsewhereVersion++;
    // The members it published suspect for want of a heartbeat are active again.
    if (this.ctx.master() === this.rt.selfId) this.ctx.republish();
  }

  /**
   * True when this node is the master and `nodeId` lapsed and has not heartbeated here
   * since. Members learn it from the view: the master publishes such a member `suspect`.
   */
  lapsed(nodeId: NodeId): boolean {
    return this.ctx.master() === this.rt.selfId && this.lapses.has(nodeId);
  }

  /**
   * True when this node is the master and another master's latest summary lists `nodeId`,
   * a member of this node's view, as its own.
   */
  followsOther(nodeId: NodeId): boolean {
    if (this.ctx.master() !== this.rt.selfId) return false;
    for (const ids of this.elsewhere.values()) if (ids.has(nodeId)) return true;
    return false;
  }

  /** Drops what other masters' summaries taught (this node left its cluster, or its master changed). */
  forgetElsewhere(): void {
    if (this.elsewhere.size === 0) return;
    this.elsewhere.clear();
    this.elsewhereVersion++;
  }

  /** This node saw itself in an adopted view: any merge join is over. */
  inView(): void {
    this.mergeJoin = false;
  }

  /**
   * True when the node at `address` is outside the members view this node is in: a member
   * of another cluster, or a node that fell out of this one. Before this node is in a view
   * (joining, merging) nobody is.
   */
  isOtherCluster(address: Address): boolean {
    const view = this.book.view;
    if (!this.ctx.joined() || view === undefined || this.book.record(this.rt.selfId) === undefined) return false;
    for (const r of view.members) if (r.address === address) return false;
    return true;
  }

  /**
   * True when the node at `from` is outside this node's view while `accused` is in it:
   * another cluster's opinion of this cluster's member, which is not taken.
   */
  isForeignAccusation(from: Address, accused: NodeId): boolean {
    return this.book.record(accused) !== undefined && this.isOtherCluster(from);
  }

  /**
   * True when `nodeId` is outside this node's view while this node is in the view of a
   * live master other than `nodeId`: two clusters, not a member that fell out of one.
   */
  isForeignMaster(nodeId: NodeId): boolean {
    const master = this.ctx.master();
    if (master === undefined || master === nodeId || this.book.record(nodeId) !== undefined || this.book.record(this.rt.selfId) === undefined) return false;
    if (master === this.rt.selfId) return true;
    const state = this.rt.members.get(master)?.state;
    return state === 'alive' || state === 'suspect';
  }

  /** Sends `nodeId` an ExplicitSuspicion (rejoin), at most once per `explicitSuspicionIntervalMs`. */
  tellToRejoin(nodeId: NodeId, address: Address, now: Millis): void {
    const last = this.explicitSentAt.get(nodeId);
    if (last !== undefined && now - last < this.rt.config.explicitSuspicionIntervalMs) return;
    boundedSet(this.explicitSentAt, nodeId, now, this.rt.config.complaintsTrackedMax);
    this.rt.counters.explicitSuspicionsSent++;
    this.rt.send(address, {
      type: 'ExplicitSuspicion',
      from: this.rt.selfId,
      target: nodeId,
      viewVersion: this.book.view?.version ?? 0,
      reason: 'not in the members view: rejoin',
    });
  }

  /** True (and the time noted) when this node may rejoin now: at most once per `rejoinIntervalMinMs`. */
  mayRejoin(now: Millis): boolean {
    if (this.lastRejoinAt !== undefined && now - this.lastRejoinAt < this.rt.config.rejoinIntervalMinMs) return false;
    this.lastRejoinAt = now;
    return true;
  }
}

/** Sets `key` in `map`, evicting the oldest entry beyond `sizeMax`. */
export function boundedSet(map: Map<NodeId, Millis>, key: NodeId, value: Millis, sizeMax: number): void {
  map.delete(key);
  if (map.size >= sizeMax) map.delete(map.keys().next().value as NodeId);
  map.set(key, value);
}

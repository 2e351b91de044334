/**
 * The receiving end of JoinRequests. A node still joining turns joiners away (retryable);
 * a member forwards the request to its master (once per joiner within
 * `JOIN_FORWARD_DEDUP_MS`, breaking loops); the master screens it (cluster id, auth token,
 * the joiner's clock against its own, node id not held by another live address), hands out a join version and answers with
 * its view. The joiner enters the view in the master's next publish, once SWIM sees it alive.
 */
import type { Millis } from '../core/clock.js';
import type { Address, NodeId } from '../core/model.js';
import type { JoinRequest, JoinResponse } from '../protocol/messages.js';
import { screenJoin, type Admissions, type JoinVerifier } from './admission.js';
import { boundedSet } from './cluster-boundary.js';
import type { ViewBook } from './master-view.js';
import type { SwimContext as Runtime } from './swim-context.js';

/** Reason sent by a seed that is itself still joining. */
export const SEED_STILL_JOINING = 'seed is still joining';
/** Why a master leaving for a split-brain merge turns joiners away. */
export const MASTER_MERGING = 'master is merging into another cluster';

/** A join request is forwarded to the master at most once per node within this time, breaking loops. */
export const JOIN_FORWARD_DEDUP_MS = 1000;

/** What the desk needs from the mastership. */
export interface JoinDeskHost {
  readonly verifyJoin: JoinVerifier;
  joined(): boolean;
  isMaster(): boolean;
  masterAddress(): Address | undefined;
  /** A seed at `address` is up but still joining. */
  onSeedJoining(address: Address): void;
  /** Publish the next view even if its records did not change. */
  forcePublish(): void;
  /** The view may change: publish when due. */
  markChanged(): void;
  /** True while this master has told its members to merge into another cluster and is about to follow. */
  leavingForMerge(): boolean;
}

/** Answers, forwards or admits JoinRequests. */
export class JoinDesk {
  private readonly forwardedAt = new Map<NodeId, Millis>();

  constructor(
    private readonly rt: Runtime,
    private readonly book: ViewBook,
    private readonly admitted: Admissions,
    private readonly host: JoinDeskHost,
  ) {}

  onJoinRequest(req: JoinRequest, now: Millis): void {
    if (!this.host.joined()) {
      this.host.onSeedJoining(req.node.address);
      this.reply(req.node.address, { type: 'JoinResponse', accepted: false, rejectCode: 'FLO_NO_SEEDS_REACHABLE', reason: SEED_STILL_JOINING });
      return;
    }
    if (this.host.isMaster()) {
      // Admitted now, the node would hold a view this master is about to leave, not be
      // told to merge (it is not in the view its members were told from), and follow a
      // master that no longer publishes. Refused (retryable), it retries, and its retry
      // reaches this node's next master by forwarding.
      if (this.host.leavingForMerge()) {
        this.reply(req.node.address, { type: 'JoinResponse', accepted: false, rejectCode: 'FLO_NO_SEEDS_REACHABLE', reason: MASTER_MERGING });
        return;
      }
      return this.admit(req, now);
    }
    const master = this.host.masterAddress();
    const last = this.forwardedAt.get(req.node.nodeId);
    if (master === undefined || (last !== undefined && now - last < JOIN_FORWARD_DEDUP_MS)) {
      this.rt.counters.ignored++;
      return;
    }
    boundedSet(this.forwardedAt, req.node.nodeId, now, this.rt.config.complaintsTrackedMax);
    this.rt.counters.joinsForwarded++;
    this.rt.send(master, req);
  }

  private admit(req: JoinRequest, now: Millis): void {
    const verdict = screenJoin(req, {
      clusterId: this.rt.clusterId,
      selfId: this.rt.selfId,
      verifyJoin: this.host.verifyJoin,
      now,
      clockOffsetMaxMs: this.rt.config.clockOffsetMaxMs,
      liveAddressOf: (id) => {
        const entry = this.rt.members.get(id);
        return entry !== undefined && (entry.state === 'alive' || entry.state === 'suspect') ? entry.address : undefined;
      },
    });
    if (!verdict.ok) {
      if (verdict.code === 'FLO_CLOCK_SKEW') this.rt.counters.clockSkewRefusals++;
      this.reply(req.node.address, { type: 'JoinResponse', accepted: false, rejectCode: verdict.code, reason: verdict.reason });
      return;
    }
    const id = req.node.nodeId;
    const inView = this.book.record(id);
    const pending = this.admitted.get(id);
    let joinVersion: number;
    if (inView !== undefined && inView.address === req.node.address) {
      joinVersion = inView.joinVersion;
      // It is in this view but asks again: it must have seen a view without itself.
      this.host.forcePublish();
    } else if (pending !== undefined && pending.info.address === req.node.address) joinVersion = pending.joinVersion;
    else joinVersion = this.book.maxJoinVersionSeen + 1;
    this.book.noteJoinVersion(joinVersion);
    if (this.admitted.add({ info: req.node, joinVersion, admittedAt: now })) this.rt.counters.admissionsDropped++;
    this.rt.counters.admissions++;
    const view = this.book.view;
    this.reply(req.node.address, view === undefined ? { type: 'JoinResponse', accepted: true } : { type: 'JoinResponse', accepted: true, view });
    this.host.markChanged();
  }

  private reply(to: Address, resp: JoinResponse): void {
    this.rt.send(to, resp);
  }
}

/**
 * The membership machine: SWIM + Lifeguard failure detection and gossip, push-pull
 * anti-entropy, seed bootstrap, graceful leave, tags, the master's members view and the
 * quorum detector, wired into one sans-IO `SansIoMachine<Message, MembershipEvent>`.
 * Inputs arrive through `handle` and `tick`; outputs are drained with `pollTransmit` and
 * `pollEvent`; time comes in as `now` and randomness from the injected `Random`.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import { initialIncarnation } from '../core/incarnation.js';
import type { SansIoMachine, Transmit } from '../core/machine.js';
import type { Address, MembersViewData, NodeId, NodeInfo, SwimState, Tags } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { Message } from '../protocol/messages.js';
import { Bootstrap } from './bootstrap.js';
import { resolveSwimConfig, type SwimConfig } from './config.js';
import type { AuthTokenMaker, JoinVerifier } from './admission.js';
import { Mastership } from './mastership.js';
import { dispatchMessage, type MachineParts } from './dispatch.js';
import { Dissemination } from './dissemination.js';
import type { Member, MembershipEvent } from './events.js';
import { GossipPriority } from './gossip-queue.js';
import { snapshotMember, type MemberEntry } from './member-list.js';
import { SplitBrain } from './split-brain.js';
import { Prober } from './prober.js';
import { LeaveTracker } from './leave.js';
import { QuorumWatch } from './quorum.js';
import type { QuorumState } from './quorum-detector.js';
import { earlier, Runtime } from './runtime.js';
import { estimateMessageSize, estimateUpdateSize, type MessageSizer, type UpdateSizer } from './size.js';
import { buildStats, type SwimStats } from './stats.js';
import { tagsMatcher, validateTags } from './tags.js';
import { Transitions } from './transitions.js';

/** Where the machine is in its life. */
export type SwimPhase = 'idle' | 'joining' | 'running' | 'leaving' | 'left' | 'failed';

/** Everything a `SwimMachine` needs. */
export interface SwimMachineOptions {
  /** This node: id, cluster address, client address, initial tags. */
  readonly self: NodeInfo;
  /** Joins are refused across clusters with different ids. */
  readonly clusterId: string;
  /** Addresses to join through; may include this node's own address. */
  readonly seeds: readonly Address[];
  readonly random: Random;
  /** Construction time: the initial incarnation derives from it. */
  readonly now: Millis;
  readonly config?: Partial<SwimConfig>;
  /** Encoded size of one gossip update (default: a conservative estimate). */
  readonly sizeOf?: UpdateSizer;
  /** Encoded size of one message (default: a conservative estimate). */
  readonly sizeOfMessage?: MessageSizer;
  /** Checks a joiner's credentials when this node is master (default: accept). */
  readonly verifyJoin?: JoinVerifier;
  /** Makes this node's JoinRequest auth token (default: empty). */
  readonly makeAuthToken?: AuthTokenMaker;
}

const acceptAll: JoinVerifier = () => ({ ok: true });
const noToken: AuthTokenMaker = () => '';

/** SWIM + Lifeguard membership as a sans-IO machine. */
export class SwimMachine implements SansIoMachine<Message, MembershipEvent> {
  readonly config: SwimConfig;
  private readonly rt: Runtime;
  private readonly transitions: Transitions;
  private readonly prober: Prober;
  private readonly dissemination: Dissemination;
  private readonly mastership: Mastership;
  private readonly quorum: QuorumWatch;
  private readonly bootstrap: Bootstrap;
  private readonly splitBrain: SplitBrain;
  private readonly parts: MachineParts;
  private phase: SwimPhase = 'idle';
  private lastNow: Millis;
  private failure: FlotillaError | undefined;
  private leaveTracker: LeaveTracker | undefined;
  private pendingGracefulLeaves = 0;
  /** `nextDeadline()` as last computed; drivers ask for it after every input and again before each tick. */
  private deadlineCached: Millis | undefined;
  private deadlineKnown = false;

  constructor(options: SwimMachineOptions) {
    this.config = resolveSwimConfig(options.config);
    const tags = validateTags(options.self.tags);
    const self: NodeInfo = { ...options.self, tags };
    this.lastNow = options.now;
    this.rt = new Runtime(
      self,
      options.clusterId,
      this.config,
      options.random,
      options.sizeOf ?? estimateUpdateSize,
      options.sizeOfMessage ?? estimateMessageSize,
    );
    this.rt.members.add({
      nodeId: self.nodeId,
      address: self.address,
      state: 'alive',
      incarnation: initialIncarnation(options.now),
      tags,
      stateChangedAt: options.now,
    });
    this.transitions = new Transitions(this.rt, (entry, previous) => this.onMemberChange(entry, previous));
    this.prober = new Prober(this.rt, this.transitions, (target) => this.mastership.onOwnSuspicion(target));
    this.dissemination = new Dissemination(this.rt, this.transitions);
    this.mastership = new Mastership(this.rt, this.transitions, {
      verifyJoin: options.verifyJoin ?? acceptAll,
      makeAuthToken: options.makeAuthToken ?? noToken,
      onAdmitted: (now, master) => this.onAdmitted(now, master),
      onRejected: (error, now) => this.failJoin(error, now),
      onSeedJoining: (address) => this.bootstrap.noteSeedJoining(address),
      probeSoon: (nodeId) => this.prober.probeSoon(nodeId),
      onForeignMaster: (address, now) => this.splitBrain.onForeignMaster(address, now),
    });
    this.transitions.foreignAccusation = (from, accused) => this.mastership.boundary.isForeignAccusation(from, accused);
    this.quorum = new QuorumWatch(this.rt, () => this.mastership.book.oldest());
    this.bootstrap = new Bootstrap(options.seeds, self.address, this.config, options.random);
    this.splitBrain = new SplitBrain(this.rt, this.mastership, {
      seeds: () => this.bootstrap.seeds,
      failedAddresses: () => this.dissemination.failed.addresses(),
      reannounce: () => this.transitions.reannounce(),
    });
    this.parts = {
      rt: this.rt,
      transitions: this.transitions,
      prober: this.prober,
      dissemination: this.dissemination,
      mastership: this.mastership,
      splitBrain: this.splitBrain,
      acceptsJoinResponse: () => this.phase === 'joining' || this.phase === 'running',
    };
  }

  // -------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------

  /**
   * Begins joining through the seeds (all of them on each attempt, with backoff); with
   * no seed but itself, forms a new cluster at once. Also retries after a failed join.
   */
  start(now: Millis): void {
    if (this.phase !== 'idle' && this.phase !== 'failed') return;
    this.deadlineKnown = false;
    this.lastNow = now;
    this.failure = undefined;
    if (this.bootstrap.alone) {
      this.form(now);
    } else {
      this.phase = 'joining';
      this.bootstrap.begin(now);
      this.stepBootstrap(now);
    }
    this.afterInput(now);
  }

  /**
   * Leaves gracefully: announces Dead(left) about itself at Critical priority and stops
   * once the announcement reached min(N - 1, leaveFanout) members or `leaveTimeoutMs`
   * passed; then `hasLeft()` is true.
   */
  leave(now: Millis): void {
    this.lastNow = now;
    this.deadlineKnown = false;
    if (this.phase === 'idle' || this.phase === 'joining' || this.phase === 'failed') {
      this.finishLeave();
      return;
    }
    if (this.phase !== 'running') return;
    this.phase = 'leaving';
    this.transitions.leaving = true;
    const self = this.rt.members.self();
    const othersAlive = this.rt.members.count('alive') - 1;
    this.rt.members.setState(self, 'left', now);
    this.rt.gossip.enqueue({ type: 'Dead', node: self.nodeId, incarnation: self.incarnation, from: self.nodeId, left: true }, GossipPriority.Critical);
    this.mastership.announceLeave();
    this.mastership.markChanged();
    const tracker = new LeaveTracker(self.nodeId, Math.min(othersAlive, this.config.leaveFanout), now + this.config.leaveTimeoutMs);
    this.leaveTracker = tracker;
    this.rt.piggybackObserver = (to, picked) => tracker.observe(to, picked);
    this.dissemination.gossipNow(now);
    this.afterInput(now);
  }

  /** True once a graceful leave completed (or the node left before joining). */
  hasLeft(): boolean {
    return this.phase === 'left';
  }

  /** The join failure (FLO_NO_SEEDS_REACHABLE, FLO_JOIN_REJECTED, ...), if joining failed. */
  joinError(): FlotillaError | undefined {
    return this.failure;
  }

  /** Where the machine is in its life. */
  status(): SwimPhase {
    return this.phase;
  }

  // -------------------------------------------------------------------------------------
  // SansIoMachine
  // -------------------------------------------------------------------------------------

  handle(from: Address, message: Message, now: Millis): void {
    this.lastNow = now;
    this.deadlineKnown = false;
    if (this.phase === 'idle' || this.phase === 'left' || this.phase === 'failed') {
      this.rt.counters.ignored++;
      return;
    }
    this.rt.countReceived(message);
    dispatchMessage(this.parts, from, message, now);
    this.afterInput(now);
  }

  tick(now: Millis): void {
    this.lastNow = now;
    this.deadlineKnown = false;
    if (this.phase === 'joining' && this.bootstrap.nextStepAt !== undefined && now >= this.bootstrap.nextStepAt) this.stepBootstrap(now);
    if (this.phase === 'running' || this.phase === 'leaving') {
      this.prober.tick(now);
      this.transitions.expireSuspicions(now);
      this.dissemination.tick(now);
      this.rt.members.reap(now);
      this.mastership.tick(now);
      this.quorum.tick(now);
    }
    if (this.phase === 'running') this.splitBrain.tick(now);
    this.afterInput(now);
  }

  nextDeadline(): Millis | undefined {
    if (!this.deadlineKnown) {
      this.deadlineCached = this.computeDeadline();
      this.deadlineKnown = true;
    }
    return this.deadlineCached;
  }

  private computeDeadline(): Millis | undefined {
    switch (this.phase) {
      case 'joining':
        return earlier(this.bootstrap.nextStepAt, this.prober.nextDeadline());
      case 'running':
      case 'leaving':
        // Asked after every input: chained pairs instead of a rest-argument array.
        return earlier(
          earlier(earlier(this.prober.nextDeadline(), this.transitions.nextSuspicionDeadline()), earlier(this.dissemination.nextDeadline(), this.rt.members.nextReapAt())),
          earlier(earlier(this.mastership.nextDeadline(), this.quorum.nextDeadline()), earlier(this.leaveTracker?.deadline, this.splitBrain.nextDeadline())),
        );
      default:
        return undefined;
    }
  }

  pollTransmit(): Transmit<Message> | undefined {
    return this.rt.pollTransmit();
  }

  pollEvent(): MembershipEvent | undefined {
    return this.rt.pollEvent();
  }

  /**
   * Caps the bytes of each message carrying gossip (the UDP driver asks for its datagram
   * budget, ~1400); never above `gossipMessageBytesMax`.
   */
  setDatagramBudget(bytes: number): void {
    this.rt.setMessageBudget(bytes);
  }

  // -------------------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------------------

  /** Every known member (self included, tombstones included). */
  members(): Member[] {
    const out: Member[] = [];
    for (const entry of this.rt.members.all()) out.push(snapshotMember(entry));
    return out;
  }

  /** One member, if known. */
  member(nodeId: NodeId): Member | undefined {
    const entry = this.rt.members.get(nodeId);
    return entry === undefined ? undefined : snapshotMember(entry);
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
    return buildStats(this.rt, this.mastership.book.view?.version ?? 0);
  }

  // -------------------------------------------------------------------------------------
  // Tags
  // -------------------------------------------------------------------------------------

  /** Sets one tag; raises the incarnation and gossips Alive at High priority. */
  updateTag(key: string, value: string): void {
    this.setTags({ ...this.rt.members.self().tags, [key]: value });
  }

  /** Removes one tag (no-op when absent). */
  removeTag(key: string): void {
    const current = this.rt.members.self().tags;
    if (!(key in current)) return;
    this.setTags(Object.fromEntries(Object.entries(current).filter(([k]) => k !== key)));
  }

  /** Sets several tags at once (others are kept). */
  updateTags(tags: Tags): void {
    this.setTags({ ...this.rt.members.self().tags, ...tags });
  }

  // -------------------------------------------------------------------------------------
  // Internals
  // -------------------------------------------------------------------------------------

  private afterInput(now: Millis): void {
    if (this.phase === 'running') this.transitions.sendRebuttals();
    else this.rt.rebuttals.drain();
    if (this.phase === 'running' || this.phase === 'leaving') {
      this.mastership.afterInput(now);
      for (; this.pendingGracefulLeaves > 0; this.pendingGracefulLeaves--) this.quorum.onGracefulLeave(now);
      // Only members answering probes count: a side that merely suspects the others is
      // already cut off from them, and must stop writing before they fail over.
      this.quorum.observe(this.rt.members.count('alive'), this.quorum.holdsTieBreaker(), now);
      this.dissemination.arm(now);
    }
    if (this.phase === 'leaving' && this.leaveTracker?.done(now) !== false) this.finishLeave();
    this.rt.syncDropCounters();
  }

  private onMemberChange(entry: MemberEntry, previous: SwimState | undefined): void {
    this.quorum.onMemberChange(entry);
    if (entry.state === 'left' && (previous === 'alive' || previous === 'suspect')) this.pendingGracefulLeaves++;
    if (entry.nodeId !== this.rt.selfId) {
      if (entry.state === 'dead') this.dissemination.failed.remember(entry, entry.stateChangedAt);
      else this.dissemination.failed.forget(entry.nodeId);
    }
    if (entry.nodeId === this.rt.selfId) this.mastership.markChanged();
    else this.mastership.memberChanged(entry.nodeId);
  }

  private stepBootstrap(now: Millis): void {
    const step = this.bootstrap.step(now);
    if (step.kind === 'form') return this.form(now);
    if (step.kind === 'give-up') {
      const seeds = this.bootstrap.seeds.join(', ');
      return this.failJoin(new FlotillaError('FLO_NO_SEEDS_REACHABLE', `${this.bootstrap.attempts} attempts through ${seeds}`), now);
    }
    this.rt.counters.joinAttempts++;
    const request = this.mastership.joinRequest();
    for (const seed of step.seeds) this.rt.send(seed, request);
  }

  private form(now: Millis): void {
    this.bootstrap.stop();
    this.mastership.form(now);
    this.becomeRunning(now, true);
  }

  private onAdmitted(now: Millis, master: Address | undefined): void {
    this.bootstrap.stop();
    // Admitted while running: a split-brain merge ended; the machine keeps running.
    if (this.phase === 'running') this.splitBrain.onAdmitted(now);
    else this.becomeRunning(now, false);
    // The joiner's first push-pull is its join: it makes the master see it alive at its incarnation.
    if (master !== undefined) this.dissemination.sendPushPull(master, true);
    this.transitions.announceSelf(GossipPriority.Medium);
  }

  private becomeRunning(now: Millis, formed: boolean): void {
    this.phase = 'running';
    this.prober.start(now);
    this.dissemination.start(now);
    this.mastership.start(now);
    this.quorum.start(now);
    this.splitBrain.start(now);
    this.rt.emit({ type: 'JoinCompleted', at: now, formed });
  }

  private failJoin(error: FlotillaError, now: Millis): void {
    if (this.phase !== 'joining') return;
    this.bootstrap.stop();
    this.phase = 'failed';
    this.failure = error;
    this.rt.emit({ type: 'JoinFailed', at: now, error });
  }

  private finishLeave(): void {
    this.phase = 'left';
    this.bootstrap.stop();
    this.prober.stop();
    this.dissemination.stop();
    this.mastership.stop();
    this.quorum.stop();
    this.splitBrain.stop();
    this.leaveTracker = undefined;
    this.rt.piggybackObserver = undefined;
  }

  private setTags(next: Tags): void {
    if (this.phase === 'left' || this.phase === 'leaving') throw new FlotillaError('FLO_NODE_STOPPED', 'cannot change tags after leaving');
    if (!this.transitions.retagSelf(validateTags(next), this.lastNow)) return;
    this.deadlineKnown = false;
    this.mastership.markChanged();
    this.afterInput(this.lastNow);
  }
}

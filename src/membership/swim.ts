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
import type { Channel, SansIoMachine, Transmit } from '../core/machine.js';
import type { Address, MembersViewData, NodeId, NodeInfo, SwimState, Tags } from '../core/model.js';
import type { Message } from '../protocol/messages.js';
import { AdmissionGuard, notingVerified } from './admission-guard.js';
import { HealthWatch } from './health-watch.js';
import { Bootstrap } from './bootstrap.js';
import { resolveSwimConfig, type SwimConfig } from './config.js';
import { Mastership } from './mastership.js';
import { dispatchMessage, type MachineParts } from './dispatch.js';
import { Dissemination } from './dissemination.js';
import type { MembershipEvent } from './events.js';
import type { MemberEntry } from './member-list.js';
import { SplitBrain } from './split-brain.js';
import { Prober } from './prober.js';
import { QuorumWatch } from './quorum.js';
import { channelOf, earlier, SwimContext } from './swim-context.js';
import { estimateMessageSize, estimateUpdateSize } from './size.js';
import { MERGING_TAG, validateTags } from './tags.js';
import { Transitions } from './transitions.js';
import { SwimLifecycle, type SwimPhase } from './swim-lifecycle.js';
import { SwimReader } from './swim-reader.js';
import { acceptAll, noToken, type SwimMachineOptions } from './swim-options.js';

export type { SwimPhase } from './swim-lifecycle.js';

export type { SwimMachineOptions } from './swim-options.js';

/** SWIM + Lifeguard membership as a sans-IO machine. */
export class SwimMachine extends SwimReader implements SansIoMachine<Message, MembershipEvent> {
  readonly config: SwimConfig;
  protected readonly rt: SwimContext;
  private readonly transitions: Transitions;
  private readonly prober: Prober;
  private readonly dissemination: Dissemination;
  protected readonly mastership: Mastership;
  protected readonly quorum: QuorumWatch;
  private readonly bootstrap: Bootstrap;
  private readonly splitBrain: SplitBrain;
  private readonly health: HealthWatch;
  private readonly parts: MachineParts;
  private readonly life: SwimLifecycle;
  private lastNow: Millis;
  protected readonly admission: AdmissionGuard;
  /** The members view last shown to the admission guard. */
  private viewNoted: MembersViewData | undefined;
  private pendingGracefulLeaves = 0;
  /** `nextDeadline()` as last computed; drivers ask for it after every input and again before each tick. */
  private deadlineCached: Millis | undefined;
  private deadlineKnown = false;

  constructor(options: SwimMachineOptions) {
    super();
    this.config = resolveSwimConfig(options.config);
    const tags = validateTags(options.self.tags);
    const self: NodeInfo = { ...options.self, tags };
    this.lastNow = options.now;
    this.admission = new AdmissionGuard({
      verifiedTtlMs: this.config.admissionTimeoutMs,
      verifiedMax: this.config.admissionsPendingMax,
      rosterMax: this.config.membersMax,
    });
    this.rt = new SwimContext(
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
    this.prober = new Prober(this.rt, this.transitions, (target) => this.mastership.reports.onOwnSuspicion(target));
    this.dissemination = new Dissemination(this.rt, this.transitions);
    this.mastership = new Mastership(this.rt, this.transitions, {
      verifyJoin: notingVerified(this.admission, options.verifyJoin ?? acceptAll, () => this.lastNow),
      makeAuthToken: options.makeAuthToken ?? noToken,
      onAdmitted: (now, master) => this.life.onAdmitted(now, master),
      onRejected: (error, now) => this.life.failJoin(error, now),
      onSeedJoining: (address) => this.bootstrap.noteSeedJoining(address),
      probeSoon: (nodeId) => this.prober.probeSoon(nodeId),
      onForeignMaster: (address, now) => this.splitBrain.onForeignMaster(address, now),
    });
    this.transitions.foreignAccusation = (from, accused) => this.mastership.boundary.isForeignAccusation(from, accused);
    this.quorum = new QuorumWatch(this.rt, () => this.mastership.book.oldest(), () => this.mastership.book.view, this.mastership.boundary);
    this.bootstrap = new Bootstrap(options.seeds, self.address, this.config, options.random, options.formAllowed ?? true);
    this.splitBrain = new SplitBrain(this.rt, this.mastership, {
      seeds: () => this.bootstrap.seeds,
      failedAddresses: () => this.dissemination.failed.addresses(),
      reannounce: () => this.transitions.reannounce(),
      markMerging: (merging, now) => this.markMerging(merging, now),
      lacksMajority: () => this.quorum.lacksMajority(),
    });
    this.health = new HealthWatch(this.rt, this.transitions, () => this.mastership.isMaster());
    this.parts = {
      rt: this.rt,
      transitions: this.transitions,
      prober: this.prober,
      dissemination: this.dissemination,
      mastership: this.mastership,
      splitBrain: this.splitBrain,
      quorum: this.quorum,
      bootstrap: this.bootstrap,
      health: this.health,
      acceptsJoinResponse: () => this.life.phase === 'joining' || this.life.phase === 'running',
    };
    this.life = new SwimLifecycle(this.parts);
  }

  // -------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------

  /**
   * Begins joining through the seeds (all of them on each attempt, with backoff); with
   * no seed but itself, forms a new cluster at once. Also retries after a failed join.
   */
  start(now: Millis): void {
    if (this.life.phase !== 'idle' && this.life.phase !== 'failed') return;
    this.deadlineKnown = false;
    this.lastNow = now;
    this.life.start(now);
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
    const before = this.life.phase;
    this.life.leave(now);
    if (before === 'running') this.afterInput(now);
  }

  /** True once a graceful leave completed (or the node left before joining). */
  hasLeft(): boolean {
    return this.life.phase === 'left';
  }

  /** The join failure (FLO_NO_SEEDS_REACHABLE, FLO_JOIN_REJECTED, ...), if joining failed. */
  joinError(): FlotillaError | undefined {
    return this.life.joinError;
  }

  /** Where the machine is in its life. */
  status(): SwimPhase {
    return this.life.phase;
  }

  // -------------------------------------------------------------------------------------
  // SansIoMachine
  // -------------------------------------------------------------------------------------

  /**
   * An inbound message from `from`, which came on `channel` (default: the type's usual
   * channel). Alive claims about nodes no master admitted are stripped first.
   */
  handle(from: Address, message: Message, now: Millis, channel: Channel = channelOf(message.type)): void {
    this.lastNow = now;
    this.deadlineKnown = false;
    if (this.life.phase === 'idle' || this.life.phase === 'left' || this.life.phase === 'failed') {
      this.rt.counters.ignored++;
      return;
    }
    const admitted = this.admission.filter(message, now, this.isKnown);
    this.rt.countReceived(admitted);
    dispatchMessage(this.parts, from, admitted, now, channel);
    this.afterInput(now);
  }

  tick(now: Millis): void {
    this.lastNow = now;
    this.deadlineKnown = false;
    this.life.tickJoin(now);
    if (this.life.phase === 'running' || this.life.phase === 'leaving') {
      this.prober.tick(now);
      this.transitions.expireSuspicions(now);
      this.dissemination.tick(now);
      this.rt.members.reap(now);
      this.mastership.tick(now);
      this.quorum.tick(now);
      this.health.tick(now);
    }
    if (this.life.phase === 'running') this.splitBrain.tick(now);
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
    switch (this.life.phase) {
      case 'joining':
        return earlier(this.bootstrap.nextStepAt, this.prober.nextDeadline());
      case 'running':
      case 'leaving':
        // Asked after every input: chained pairs instead of a rest-argument array.
        return earlier(
          earlier(earlier(this.prober.nextDeadline(), this.transitions.nextSuspicionDeadline()), earlier(this.dissemination.nextDeadline(), this.rt.members.nextReapAt())),
          earlier(earlier(this.mastership.nextDeadline(), this.quorum.nextDeadline()), earlier(earlier(this.life.leaveDeadline, this.health.nextDeadline()), this.splitBrain.nextDeadline())),
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
  // Tags and health
  // -------------------------------------------------------------------------------------

  /**
   * The owner's verdict of this node's own (pluggable, possibly async) health check.
   * Failing: emits `HealthCheckFailed` and reports this node suspect to every member,
   * without refuting, until a later report says healthy; then it refutes (a new
   * incarnation), is alive everywhere again and emits `HealthCheckPassed`.
   */
  reportHealth(healthy: boolean, now: Millis, detail = ''): void {
    if (this.life.phase !== 'running') return;
    this.lastNow = now;
    this.deadlineKnown = false;
    this.health.reportSelf(!healthy, detail, now);
    this.afterInput(now);
  }

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
    if (this.life.phase === 'running') this.transitions.sendRebuttals();
    else this.rt.rebuttals.drain();
    if (this.life.phase === 'running' || this.life.phase === 'leaving') {
      this.mastership.afterInput(now);
      const view = this.mastership.book.view;
      if (view !== undefined && view !== this.viewNoted) {
        this.viewNoted = view;
        this.admission.noteView(view);
      }
      for (; this.pendingGracefulLeaves > 0; this.pendingGracefulLeaves--) this.quorum.onGracefulLeave(now);
      // Only members answering probes count: a side that merely suspects the others is
      // already cut off from them, and must stop writing before they fail over.
      this.quorum.observe(this.quorum.lineageLiveCount(), this.quorum.holdsTieBreaker(), now);
      this.dissemination.arm(now);
    }
    this.life.afterInput(now);
    this.rt.syncDropCounters();
  }

  private onMemberChange(entry: MemberEntry, previous: SwimState | undefined): void {
    this.quorum.onMemberChange(entry);
    if (entry.state === 'left' && (previous === 'alive' || previous === 'suspect')) this.pendingGracefulLeaves++;
    if (entry.nodeId !== this.rt.selfId) {
      if (entry.state === 'dead') this.dissemination.failed.remember(entry, entry.stateChangedAt);
      else this.dissemination.failed.forget(entry.nodeId);
      if (entry.state === 'dead' || entry.state === 'left') {
        this.rt.roundTrips.forget(entry.nodeId);
        this.rt.clockOffsets.forget(entry.nodeId);
        this.health.forget(entry.nodeId);
      }
    }
    if (entry.nodeId === this.rt.selfId) this.mastership.markChanged();
    else this.mastership.memberChanged(entry.nodeId);
  }

  private readonly isKnown = (nodeId: NodeId): boolean => this.rt.members.get(nodeId) !== undefined;

  /**
   * The split-brain merge's own tag. User tags that leave no room for it go without: peers
   * then learn of the handover only from the sharding layer's tag, a little later.
   */
  private markMerging(merging: boolean, now: Millis): void {
    const current = this.rt.members.self().tags;
    if (MERGING_TAG in current === merging) return;
    const next = merging ? { ...current, [MERGING_TAG]: '1' } : Object.fromEntries(Object.entries(current).filter(([k]) => k !== MERGING_TAG));
    try {
      validateTags(next);
    } catch {
      return;
    }
    if (!this.transitions.retagSelf(next, now)) return;
    this.deadlineKnown = false;
    this.mastership.markChanged();
  }

  private setTags(next: Tags): void {
    if (this.life.phase === 'left' || this.life.phase === 'leaving') throw new FlotillaError('FLO_NODE_STOPPED', 'cannot change tags after leaving');
    if (!this.transitions.retagSelf(validateTags(next), this.lastNow)) return;
    this.deadlineKnown = false;
    this.mastership.markChanged();
    this.afterInput(this.lastNow);
  }
}

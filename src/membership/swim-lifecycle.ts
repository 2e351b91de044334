/**
 * The life of one membership machine: idle -> joining (through the seeds, with backoff)
 * or forming -> running -> leaving -> left, and failed when the join gave up or was
 * refused. It starts and stops the protocol parts as the phase changes, so the machine
 * itself only routes inputs and answers queries.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Address } from '../core/model.js';
import type { Bootstrap } from './bootstrap.js';
import type { Mastership } from './mastership.js';
import type { Dissemination } from './dissemination.js';
import { GossipPriority } from './gossip-queue.js';
import { LeaveTracker } from './leave.js';
import type { Prober } from './prober.js';
import type { QuorumWatch } from './quorum.js';
import type { SplitBrain } from './split-brain.js';
import type { SwimContext } from './swim-context.js';
import type { Transitions } from './transitions.js';

/** Where the machine is in its life. */
export type SwimPhase = 'idle' | 'joining' | 'running' | 'leaving' | 'left' | 'failed';

/** The protocol parts a phase change starts or stops. */
export interface LifecycleParts {
  readonly rt: SwimContext;
  readonly transitions: Transitions;
  readonly prober: Prober;
  readonly dissemination: Dissemination;
  readonly mastership: Mastership;
  readonly quorum: QuorumWatch;
  readonly bootstrap: Bootstrap;
  readonly splitBrain: SplitBrain;
}

/** Join, form, leave and failure of one machine. */
export class SwimLifecycle {
  private current: SwimPhase = 'idle';
  private failure: FlotillaError | undefined;
  private leaveTracker: LeaveTracker | undefined;

  constructor(private readonly parts: LifecycleParts) {}

  /** The current phase. */
  get phase(): SwimPhase {
    return this.current;
  }

  /** The join failure, if joining failed. */
  get joinError(): FlotillaError | undefined {
    return this.failure;
  }

  /** When a graceful leave completes regardless of its fan-out, if one runs. */
  get leaveDeadline(): Millis | undefined {
    return this.leaveTracker?.deadline;
  }

  /** Begins joining (or forms at once with no seed but itself); also retries after a failure. */
  start(now: Millis): void {
    if (this.current !== 'idle' && this.current !== 'failed') return;
    this.failure = undefined;
    if (this.parts.bootstrap.alone) {
      this.form(now);
    } else {
      this.current = 'joining';
      this.parts.bootstrap.begin(now);
      this.stepBootstrap(now);
    }
  }

  /** Runs the next bootstrap step when it is due. */
  tickJoin(now: Millis): void {
    const at = this.parts.bootstrap.nextStepAt;
    if (this.current === 'joining' && at !== undefined && now >= at) this.stepBootstrap(now);
  }

  /** Announces Dead(left) about this node and waits for it to spread (see `SwimMachine.leave`). */
  leave(now: Millis): void {
    if (this.current === 'idle' || this.current === 'joining' || this.current === 'failed') {
      this.finishLeave();
      return;
    }
    if (this.current !== 'running') return;
    const { rt, transitions, mastership, dissemination } = this.parts;
    this.current = 'leaving';
    transitions.leaving = true;
    const self = rt.members.self();
    const othersAlive = rt.members.count('alive') - 1;
    rt.members.setState(self, 'left', now);
    rt.gossip.enqueue({ type: 'Dead', node: self.nodeId, incarnation: self.incarnation, from: self.nodeId, left: true }, GossipPriority.Critical);
    mastership.reports.announceLeave();
    mastership.markChanged();
    const tracker = new LeaveTracker(self.nodeId, Math.min(othersAlive, rt.config.leaveFanout), now + rt.config.leaveTimeoutMs);
    this.leaveTracker = tracker;
    rt.piggybackObserver = (to, picked) => tracker.observe(to, picked);
    dissemination.gossipNow(now);
  }

  /** Completes a graceful leave once its announcement went out (or timed out). */
  afterInput(now: Millis): void {
    if (this.current === 'leaving' && this.leaveTracker?.done(now) !== false) this.finishLeave();
  }

  /** The master admitted this node (a first join, or the end of a split-brain merge). */
  onAdmitted(now: Millis, master: Address | undefined): void {
    const { bootstrap, splitBrain, dissemination, transitions } = this.parts;
    bootstrap.stop();
    // Admitted while running: a split-brain merge ended; the machine keeps running.
    if (this.current === 'running') splitBrain.onAdmitted(now);
    else this.becomeRunning(now, false);
    // The joiner's first push-pull is its join: it makes the master see it alive at its incarnation.
    if (master !== undefined) dissemination.sendPushPull(master, true);
    transitions.announceSelf(GossipPriority.Medium);
  }

  /** The join ended with `error` (refused, or no seed reachable). */
  failJoin(error: FlotillaError, now: Millis): void {
    if (this.current !== 'joining') return;
    this.parts.bootstrap.stop();
    this.current = 'failed';
    this.failure = error;
    this.parts.rt.emit({ type: 'JoinFailed', at: now, error });
  }

  private stepBootstrap(now: Millis): void {
    const { bootstrap, mastership, rt } = this.parts;
    const step = bootstrap.step(now);
    if (step.kind === 'form') return this.form(now);
    if (step.kind === 'give-up') {
      const seeds = bootstrap.seeds.join(', ') || 'no address';
      if (bootstrap.formAllowed) return this.failJoin(new FlotillaError('FLO_NO_SEEDS_REACHABLE', `${bootstrap.attempts} attempts through ${seeds}`), now);
      const why = `${bootstrap.attempts} attempts through ${seeds}; a former member does not form a new cluster`;
      return this.failJoin(new FlotillaError('FLO_REJOIN_NO_PEERS', why), now);
    }
    rt.counters.joinAttempts++;
    const request = mastership.joinRequest(now);
    for (const seed of step.seeds) rt.send(seed, request);
  }

  private form(now: Millis): void {
    this.parts.bootstrap.stop();
    this.parts.mastership.form(now);
    this.becomeRunning(now, true);
  }

  private becomeRunning(now: Millis, formed: boolean): void {
    const { prober, dissemination, mastership, quorum, splitBrain, rt } = this.parts;
    this.current = 'running';
    prober.start(now);
    dissemination.start(now);
    mastership.start(now);
    quorum.start(now);
    splitBrain.start(now);
    rt.emit({ type: 'JoinCompleted', at: now, formed });
  }

  private finishLeave(): void {
    const { bootstrap, prober, dissemination, mastership, quorum, splitBrain, rt } = this.parts;
    this.current = 'left';
    bootstrap.stop();
    prober.stop();
    dissemination.stop();
    mastership.stop();
    quorum.stop();
    splitBrain.stop();
    this.leaveTracker = undefined;
    rt.piggybackObserver = undefined;
  }
}

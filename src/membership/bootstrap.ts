/**
 * Joining through seeds: which seeds to try, when to try again (exponential backoff with
 * jitter from the injected Random), when to give up, and when a node that is itself a
 * seed should start a new cluster instead (no seed admitted it, and it has the lowest
 * address among the seeds that answered "still joining"). A node that was a member before
 * (`formAllowed: false`) never forms alone: its cluster may still be running and hold data
 * a new cluster would answer 404 for; it forms only together with a former peer that is
 * restarting too (the whole cluster restarts), and otherwise gives up. It decides; the
 * machine sends.
 */
import type { Millis } from '../core/clock.js';
import type { Address } from '../core/model.js';
import type { Random } from '../core/random.js';
import type { SwimConfig } from './config.js';

/**
 * Wait after join attempt `attempt` (0-based) before the next:
 * `min(maxMs, initialMs * 2^attempt)`, scaled by a uniform factor in [1 - jitter, 1 + jitter).
 */
export function joinBackoffMs(
  attempt: number,
  config: Pick<SwimConfig, 'joinBackoffInitialMs' | 'joinBackoffMaxMs' | 'joinBackoffJitter'>,
  random: Random,
): number {
  const base = Math.min(config.joinBackoffMaxMs, config.joinBackoffInitialMs * 2 ** Math.min(attempt, 52));
  const factor = 1 + config.joinBackoffJitter * (2 * random.next() - 1);
  return Math.max(1, Math.round(base * factor));
}

/** What the machine should do when the bootstrap timer fires. */
export type BootstrapStep =
  | { readonly kind: 'attempt'; readonly seeds: readonly Address[] }
  | { readonly kind: 'form' }
  | { readonly kind: 'give-up' };

/** The join-through-seeds schedule of one node. */
export class Bootstrap {
  /** The seeds other than this node, deduplicated, in the given order. */
  readonly seeds: readonly Address[];
  /** Whether this node's own address is among the seeds. */
  readonly selfIsSeed: boolean;
  private attemptsMade = 0;
  private nextAt: Millis | undefined;
  /** Seeds known to be up but still joining themselves (bounded by the seed list). */
  private readonly joiningSeeds = new Set<Address>();

  /**
   * @param formAllowed false for a node that was a member before: it must find its old
   *   cluster (or a former peer restarting with it) and never forms a cluster of its own.
   */
  constructor(
    seeds: readonly Address[],
    private readonly selfAddress: Address,
    private readonly config: SwimConfig,
    private readonly random: Random,
    readonly formAllowed = true,
  ) {
    this.seeds = [...new Set(seeds.filter((s) => s !== selfAddress))];
    this.selfIsSeed = seeds.includes(selfAddress);
  }

  /** Attempts made so far. */
  get attempts(): number {
    return this.attemptsMade;
  }

  /** When the next step is due, or undefined when not joining. */
  get nextStepAt(): Millis | undefined {
    return this.nextAt;
  }

  /** True when there is nobody to join and forming is allowed: this node forms a new cluster at once. */
  get alone(): boolean {
    return this.seeds.length === 0 && this.formAllowed;
  }

  /** Starts (or restarts) the schedule: the first attempt is due at `now`. */
  begin(now: Millis): void {
    this.attemptsMade = 0;
    this.joiningSeeds.clear();
    this.nextAt = now;
  }

  /** Stops the schedule (joined, formed, or gave up). */
  stop(): void {
    this.nextAt = undefined;
  }

  /** Records that `seed` answered but is still joining itself. */
  noteSeedJoining(seed: Address): void {
    if (this.seeds.includes(seed)) this.joiningSeeds.add(seed);
  }

  /** Decides the step due at `now` and schedules the one after it. */
  step(now: Millis): BootstrapStep {
    if (this.attemptsMade >= this.config.joinAttemptsMax) {
      this.stop();
      return { kind: 'give-up' };
    }
    if (this.shouldForm()) {
      this.stop();
      return { kind: 'form' };
    }
    const wait = joinBackoffMs(this.attemptsMade, this.config, this.random);
    this.attemptsMade++;
    this.nextAt = now + wait;
    return { kind: 'attempt', seeds: this.seeds };
  }

  private shouldForm(): boolean {
    if (this.attemptsMade < this.config.seedFormAfterAttempts) return false;
    // A former member forms only with evidence that its peers are restarting too: one
    // answered "still joining". Silence may be a live cluster it cannot reach yet.
    if (this.formAllowed ? !this.selfIsSeed : this.joiningSeeds.size === 0) return false;
    for (const seed of this.joiningSeeds) if (seed < this.selfAddress) return false;
    return true;
  }
}

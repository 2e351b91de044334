/**
 * One simulated process: how it is named and addressed, what its factory is given, its
 * machine, whether it runs, is paused or is down, the inputs that queue up while it is
 * paused, its pending tick, and a bounded log of its events.
 */
import type { Millis } from '../src/core/clock.js';
import type { Channel } from '../src/core/machine.js';
import type { Address, NodeId } from '../src/core/model.js';
import type { Random } from '../src/core/random.js';

/** What the factory gets to build one node's machine. */
export interface NodeContext {
  readonly nodeId: NodeId;
  readonly address: Address;
  /** This node's own random stream, forked from the simulation's seed. */
  readonly random: Random;
  /** Virtual time of creation; a restarted node gets the restart time (a new incarnation). */
  readonly now: Millis;
  /** Seed addresses, never including this node's own. */
  readonly seeds: readonly Address[];
  /** Creation order of the node, from 0. */
  readonly index: number;
  /** 0 for the first machine of this node, then +1 per restart. */
  readonly generation: number;
}

/** Builds (and starts) a node's machine. */
export type MachineFactory<N> = (ctx: NodeContext) => N;

/** Deterministic address of the node created `index`-th. */
export function simAddress(index: number): Address {
  return `10.0.${(index >> 8) & 255}.${index & 255}:7946`;
}

/** Deterministic id of the node created `index`-th. */
export function simNodeId(index: number): NodeId {
  return `node-${String(index).padStart(3, '0')}`;
}

/** Lifecycle state of a simulated process. */
export type NodeState = 'up' | 'paused' | 'down';

/** An input that arrived while the process was paused. */
export interface QueuedInput<M> {
  readonly from: Address;
  readonly channel: Channel;
  readonly message: M;
}

/** An event a node's machine emitted, with when. */
export interface LoggedEvent<E> {
  readonly at: Millis;
  readonly event: E;
}

/** Mutable bookkeeping of one node; the simulation owns it, scenarios read it. */
export class SimNode<N, M, E> {
  state: NodeState = 'up';
  /** How many times this node has been (re)started; 0 for the first machine. */
  generation = 0;
  /** Network send index at the current machine's start: older messages to it are dropped. */
  startSendIndex = 0;
  /** Virtual time the current machine was created. */
  startedAt: Millis;
  pausedUntil: Millis = 0;
  /** Bumped to invalidate a scheduled pause end. */
  pauseGen = 0;
  readonly inbox: QueuedInput<M>[] = [];
  /** Time of the one pending tick action, if any. */
  tickAt: Millis | undefined = undefined;
  /** Bumped to invalidate the pending tick action. */
  tickGen = 0;
  /** Ticks run at `lastTickInstant`, to catch a machine that never lets time move. */
  ticksThisInstant = 0;
  lastTickInstant: Millis = -1;
  private readonly log: LoggedEvent<E>[] = [];
  private logStart = 0;

  constructor(
    readonly index: number,
    readonly nodeId: NodeId,
    readonly address: Address,
    public machine: N,
    now: Millis,
    private readonly eventLogMax: number,
  ) {
    this.startedAt = now;
  }

  /** Append an event, discarding the oldest past `eventLogMax`. */
  logEvent(at: Millis, event: E): void {
    if (this.log.length < this.eventLogMax) {
      this.log.push({ at, event });
      return;
    }
    this.log[this.logStart] = { at, event };
    this.logStart = (this.logStart + 1) % this.eventLogMax;
  }

  /** Logged events, oldest first. */
  events(): LoggedEvent<E>[] {
    return [...this.log.slice(this.logStart), ...this.log.slice(0, this.logStart)];
  }

  /** Forget logged events. */
  clearEvents(): void {
    this.log.length = 0;
    this.logStart = 0;
  }
}

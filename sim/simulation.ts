/**
 * The simulator proper: N sans-IO machines in one process over a simulated network and
 * virtual time. It feeds each machine its inputs and ticks at exactly the deadline the
 * machine asks for, drains what it wants sent into the network, and models process
 * crashes, restarts and stalls. A run is a pure function of the seed and the scenario.
 */
import type { Millis } from '../src/core/clock.js';
import type { Channel, SansIoMachine } from '../src/core/machine.js';
import type { Address, NodeId } from '../src/core/model.js';
import { SeededRandom } from '../src/core/random.js';
import { SimNetwork, type ArrivalOutcome, type NetworkOptions, type NetworkStats, type PartitionOptions } from './network.js';
import { Scheduler, SIM_EPOCH_MS } from './scheduler.js';
import { SimNode, simAddress, simNodeId, type LoggedEvent, type MachineFactory, type NodeContext } from './sim-node.js';
import { SimulationError } from './simulation-error.js';
import { Trace } from './trace.js';

export type { NodeState, LoggedEvent, NodeContext, MachineFactory } from './sim-node.js';
export { simAddress, simNodeId } from './sim-node.js';
export { SimulationError } from './simulation-error.js';

/**
 * Resolves once every promise continuation queued so far, and every one those queue in
 * turn, has run: the microtask queue is emptied before the next macrotask starts.
 */
export function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Observer of every event any machine emits. */
export type EventObserver<E> = (nodeId: NodeId, event: E, now: Millis) => void;

/** Options of a simulation. */
export interface SimulationOptions<M, E, N extends SansIoMachine<M, E>> {
  readonly seed: number;
  readonly factory: MachineFactory<N>;
  /** Network options besides the scheduler, the randomness and the delivery hook. */
  readonly network?: Omit<NetworkOptions<M>, 'scheduler' | 'random' | 'arrive'>;
  /** How many of the first nodes (by index) are seeds. Default 3. */
  readonly seedCount?: number;
  /** Events kept per node, newest last. Default 1,000. */
  readonly eventLogMax?: number;
  /** Inputs a paused node queues before it drops more (a full socket buffer). Default 100,000. */
  readonly pausedInboxMax?: number;
  /** Virtual start time. Default `SIM_EPOCH_MS`. */
  readonly startMs?: Millis;
  /** Record a digest of every delivery, event and lifecycle change. Default false. */
  readonly trace?: boolean;
  readonly onEvent?: EventObserver<E>;
}

/** Transmits or events one drain may take from a machine before it is deemed runaway. */
export const DRAIN_ITEMS_MAX = 1_000_000;

/** Ticks one node may take at one virtual instant before it is deemed to spin. */
export const TICKS_PER_INSTANT_MAX = 10_000;

/** N sans-IO machines on one simulated network. */
export class Simulation<M, E, N extends SansIoMachine<M, E> = SansIoMachine<M, E>> {
  readonly seed: number;
  readonly scheduler: Scheduler;
  readonly network: SimNetwork<M>;
  private readonly master: SeededRandom;
  private readonly factory: MachineFactory<N>;
  private readonly seedCount: number;
  private readonly eventLogMax: number;
  private readonly pausedInboxMax: number;
  private readonly list: SimNode<N, M, E>[] = [];
  private readonly byId = new Map<NodeId, SimNode<N, M, E>>();
  private readonly byAddress = new Map<Address, SimNode<N, M, E>>();
  private readonly observers: EventObserver<E>[] = [];
  private readonly trace: Trace | undefined;
  private readonly startMs: Millis;

  constructor(options: SimulationOptions<M, E, N>) {
    this.seed = options.seed;
    this.startMs = options.startMs ?? SIM_EPOCH_MS;
    this.scheduler = new Scheduler(this.startMs);
    this.master = new SeededRandom(options.seed);
    this.factory = options.factory;
    this.seedCount = options.seedCount ?? 3;
    this.eventLogMax = options.eventLogMax ?? 1_000;
    this.pausedInboxMax = options.pausedInboxMax ?? 100_000;
    this.trace = options.trace === true ? new Trace() : undefined;
    if (options.onEvent !== undefined) this.observers.push(options.onEvent);
    this.network = new SimNetwork<M>({
      ...options.network,
      scheduler: this.scheduler,
      random: this.master.fork(),
      arrive: (from, to, channel, message, sendIndex) => this.arrive(from, to, channel, message, sendIndex),
    });
  }

  /** Current virtual time. */
  get now(): Millis {
    return this.scheduler.now;
  }

  /** Virtual milliseconds since the simulation started. */
  get elapsedMs(): Millis {
    return this.scheduler.now - this.startMs;
  }

  /** Addresses of the seed nodes (whether or not they exist yet). */
  seedAddresses(): Address[] {
    return Array.from({ length: this.seedCount }, (_, i) => simAddress(i));
  }

  /** Add an observer of every machine event. */
  observe(observer: EventObserver<E>): void {
    this.observers.push(observer);
  }

  /**
   * Create and start a node now. Its seeds are the seed addresses other than its own; the
   * very first node gets none, so it founds the cluster. `seeds` overrides that.
   */
  addNode(options: { seeds?: readonly Address[] } = {}): SimNode<N, M, E> {
    const index = this.list.length;
    const nodeId = simNodeId(index);
    const address = simAddress(index);
    const seeds = options.seeds ?? (index === 0 ? [] : this.seedAddresses().filter((a) => a !== address));
    const random = this.master.fork();
    const machine = this.guard(nodeId, () => this.factory({ nodeId, address, random, now: this.now, seeds, index, generation: 0 }));
    const node = new SimNode<N, M, E>(index, nodeId, address, machine, this.now, this.eventLogMax);
    node.startSendIndex = this.network.sendIndex;
    this.list.push(node);
    this.byId.set(nodeId, node);
    this.byAddress.set(address, node);
    this.trace?.record('L', this.now, 'add', nodeId);
    this.drain(node);
    return node;
  }

  /** Add `count` nodes at the current instant. */
  addNodes(count: number): SimNode<N, M, E>[] {
    return Array.from({ length: count }, () => this.addNode());
  }

  /** Every node ever added, in creation order. */
  nodes(): readonly SimNode<N, M, E>[] {
    return this.list;
  }

  /** Nodes currently running (not paused, not down). */
  upNodes(): SimNode<N, M, E>[] {
    return this.list.filter((n) => n.state === 'up');
  }

  /** The node with this id (throws when unknown: a scenario bug). */
  node(nodeId: NodeId): SimNode<N, M, E> {
    const node = this.byId.get(nodeId);
    if (node === undefined) throw new SimulationError(`unknown node ${nodeId}`, this.seed, this.elapsedMs);
    return node;
  }

  /** The current machine of a node (after a crash, the dead one, for inspection). */
  machine(nodeId: NodeId): N {
    return this.node(nodeId).machine;
  }

  /** Events a node's machines have emitted, oldest first (bounded by `eventLogMax`). */
  events(nodeId: NodeId): LoggedEvent<E>[] {
    return this.node(nodeId).events();
  }

  /**
   * Call into a running node's machine from outside (an operator action, an API call),
   * then send what it wants sent and reschedule its tick.
   */
  act<R>(nodeId: NodeId, fn: (machine: N, now: Millis) => R): R {
    const node = this.node(nodeId);
    if (node.state !== 'up') throw new SimulationError(`cannot act on ${node.state} node`, this.seed, this.elapsedMs, nodeId);
    const result = this.guard(nodeId, () => fn(node.machine, this.now));
    this.drain(node);
    return result;
  }

  /** Stop a process at once: its timers stop, and messages to it, even in flight, are lost. */
  crash(nodeId: NodeId): void {
    const node = this.node(nodeId);
    if (node.state === 'down') return;
    for (let i = 0; i < node.inbox.length; i++) this.network.countDrop('down', node.address);
    node.inbox.length = 0;
    node.state = 'down';
    node.tickGen++;
    node.tickAt = undefined;
    node.pauseGen++;
    node.pausedUntil = 0;
    this.trace?.record('L', this.now, 'crash', nodeId);
  }

  /** Start a fresh machine for a node (crashing the old one first if it still runs). */
  restart(nodeId: NodeId, options: { seeds?: readonly Address[] } = {}): SimNode<N, M, E> {
    const node = this.node(nodeId);
    this.crash(nodeId);
    node.generation++;
    const seeds = options.seeds ?? this.seedAddresses().filter((a) => a !== node.address);
    const ctx: NodeContext = {
      nodeId,
      address: node.address,
      random: this.master.fork(),
      now: this.now,
      seeds,
      index: node.index,
      generation: node.generation,
    };
    node.machine = this.guard(nodeId, () => this.factory(ctx));
    node.state = 'up';
    node.startedAt = this.now;
    node.startSendIndex = this.network.sendIndex;
    this.trace?.record('L', this.now, 'restart', nodeId, node.generation);
    this.drain(node);
    return node;
  }

  /**
   * Stall a process for `ms` (a long GC pause, a stopped VM): it runs nothing; what
   * arrives meanwhile queues up (to `pausedInboxMax`) and is handled, as sent, when it
   * resumes, before its overdue timers fire. Pausing a paused node extends the stall.
   */
  pause(nodeId: NodeId, ms: Millis): void {
    const node = this.node(nodeId);
    if (node.state === 'down') throw new SimulationError('cannot pause a down node', this.seed, this.elapsedMs, nodeId);
    node.state = 'paused';
    node.pausedUntil = Math.max(node.pausedUntil, this.now + ms);
    node.tickGen++;
    node.tickAt = undefined;
    const gen = ++node.pauseGen;
    this.trace?.record('L', this.now, 'pause', nodeId, ms);
    this.scheduler.at(node.pausedUntil, () => {
      if (node.pauseGen === gen) this.resume(node);
    });
  }

  /** End a node's stall now (SIGCONT before the planned end): it handles what queued up. */
  thaw(nodeId: NodeId): void {
    const node = this.node(nodeId);
    if (node.state !== 'paused') return;
    node.pauseGen++;
    this.resume(node);
  }

  /** Whether a node's process is running. */
  isUp(nodeId: NodeId): boolean {
    return this.node(nodeId).state === 'up';
  }

  /** Cut the network between two groups of nodes (by id); see `SimNetwork.partition`. */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[], options: PartitionOptions = {}): number {
    this.trace?.record('L', this.now, 'partition', groupA.join(','), groupB.join(','), options.oneWay === true);
    return this.network.partition(groupA.map((id) => this.node(id).address), groupB.map((id) => this.node(id).address), options);
  }

  /** Remove one cut, or all of them. */
  heal(id?: number): void {
    this.trace?.record('L', this.now, 'heal', id ?? 'all');
    this.network.heal(id);
  }

  /** Run every action due up to absolute virtual time `t`. */
  runUntil(t: Millis): void {
    this.scheduler.runUntil(t);
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: Millis): void {
    this.scheduler.runFor(ms);
  }

  /** Run until `pred` holds or absolute virtual time `deadlineMs`; the time it held, or undefined. */
  runUntilCondition(pred: () => boolean, deadlineMs: Millis): Millis | undefined {
    return this.scheduler.runUntilCondition(pred, deadlineMs);
  }

  /** Run until `pred` holds, at most `timeoutMs` from now; how long it took, or undefined. */
  waitFor(pred: () => boolean, timeoutMs: Millis): Millis | undefined {
    const start = this.now;
    const at = this.scheduler.runUntilCondition(pred, start + timeoutMs);
    return at === undefined ? undefined : at - start;
  }

  /**
   * `runUntil` for machines that do asynchronous work (promises): every action is
   * followed by `settle()`, which lets the promise continuations it started run before
   * the next action (see `Scheduler.runUntilAsync`).
   */
  runUntilAsync(t: Millis): Promise<void> {
    return this.scheduler.runUntilAsync(t, settleMicrotasks);
  }

  /** `runFor` with asynchronous work settled after every action. */
  runForAsync(ms: Millis): Promise<void> {
    return this.runUntilAsync(this.now + ms);
  }

  /** `waitFor` with asynchronous work settled after every action; how long it took, or undefined. */
  async waitForAsync(pred: () => boolean, timeoutMs: Millis): Promise<Millis | undefined> {
    const start = this.now;
    const at = await this.scheduler.runUntilConditionAsync(pred, start + timeoutMs, settleMicrotasks);
    return at === undefined ? undefined : at - start;
  }

  /**
   * A running node's machine changed outside an input or a tick (asynchronous work it
   * started finished and left output or an earlier deadline): drain it and re-read its
   * deadline. Ignored unless `machine` is the node's current one and the node is up (a
   * paused node is drained when it resumes; a crashed one never).
   */
  poke(nodeId: NodeId, machine: N): void {
    const node = this.byId.get(nodeId);
    if (node === undefined || node.machine !== machine || node.state !== 'up') return;
    this.drain(node);
  }

  /** Network counters. */
  stats(): NetworkStats {
    return this.network.stats();
  }

  /** Digest of the trace (requires `trace: true`). */
  traceDigest(): string {
    if (this.trace === undefined) throw new SimulationError('tracing is off; pass trace: true', this.seed, this.elapsedMs);
    return this.trace.digest();
  }

  /** Number of trace records and the last few, for debugging a diverging run. */
  traceTail(): { records: number; recent: readonly string[] } {
    return { records: this.trace?.records ?? 0, recent: this.trace?.recent() ?? [] };
  }

  private arrive(from: Address, to: Address, channel: Channel, message: M, sendIndex: number): ArrivalOutcome {
    const node = this.byAddress.get(to);
    if (node === undefined) return 'unroutable';
    if (node.state === 'down' || sendIndex < node.startSendIndex) return 'down';
    if (node.state === 'paused') {
      if (node.inbox.length >= this.pausedInboxMax) return 'overflow';
      node.inbox.push({ from, channel, message });
      return 'queued';
    }
    this.deliver(node, from, channel, message);
    return 'delivered';
  }

  private deliver(node: SimNode<N, M, E>, from: Address, channel: Channel, message: M): void {
    this.trace?.record('D', this.now, from, node.address, channel, message);
    this.guard(node.nodeId, () => node.machine.handle(from, message, this.now, channel));
    this.drain(node);
  }

  private resume(node: SimNode<N, M, E>): void {
    node.state = 'up';
    node.pausedUntil = 0;
    this.trace?.record('L', this.now, 'resume', node.nodeId, node.inbox.length);
    const queued = node.inbox.splice(0, node.inbox.length);
    for (const input of queued) {
      if (node.state !== 'up') {
        this.network.countDrop('down', node.address);
        continue;
      }
      this.network.countReceived(node.address, input.message);
      this.deliver(node, input.from, input.channel, input.message);
    }
    if (node.state === 'up') this.scheduleTick(node);
  }

  private drain(node: SimNode<N, M, E>): void {
    if (node.state === 'down') return;
    const machine = node.machine;
    for (let i = 0; ; i++) {
      const t = machine.pollTransmit();
      if (t === undefined) break;
      if (i >= DRAIN_ITEMS_MAX) throw new SimulationError(`machine produced over ${DRAIN_ITEMS_MAX} transmits at once`, this.seed, this.elapsedMs, node.nodeId);
      this.network.send(node.address, t.to, t.channel, t.message);
    }
    for (let i = 0; ; i++) {
      const e = machine.pollEvent();
      if (e === undefined) break;
      if (i >= DRAIN_ITEMS_MAX) throw new SimulationError(`machine produced over ${DRAIN_ITEMS_MAX} events at once`, this.seed, this.elapsedMs, node.nodeId);
      node.logEvent(this.now, e);
      this.trace?.record('E', this.now, node.nodeId, e);
      for (const observer of this.observers) observer(node.nodeId, e, this.now);
    }
    this.scheduleTick(node);
  }

  /**
   * Keep exactly one pending tick per node, at its machine's deadline. A pending tick
   * earlier than the new deadline is kept: when it fires it re-reads the deadline, so
   * deadlines that move later never leave stale actions in the queue.
   */
  private scheduleTick(node: SimNode<N, M, E>): void {
    if (node.state !== 'up') return;
    const deadline = node.machine.nextDeadline();
    if (deadline === undefined) return;
    const at = deadline < this.now ? this.now : deadline;
    if (node.tickAt !== undefined && node.tickAt <= at) return;
    const gen = ++node.tickGen;
    node.tickAt = at;
    this.scheduler.at(at, () => this.fireTick(node, gen));
  }

  private fireTick(node: SimNode<N, M, E>, gen: number): void {
    if (gen !== node.tickGen || node.state !== 'up') return;
    node.tickAt = undefined;
    const deadline = node.machine.nextDeadline();
    if (deadline === undefined) return;
    if (deadline > this.now) {
      this.scheduleTick(node);
      return;
    }
    if (node.lastTickInstant === this.now) {
      if (++node.ticksThisInstant > TICKS_PER_INSTANT_MAX) {
        throw new SimulationError(`machine asked for over ${TICKS_PER_INSTANT_MAX} ticks at one instant`, this.seed, this.elapsedMs, node.nodeId);
      }
    } else {
      node.lastTickInstant = this.now;
      node.ticksThisInstant = 1;
    }
    this.guard(node.nodeId, () => node.machine.tick(this.now));
    this.drain(node);
  }

  /** Run machine code, wrapping what it throws with the seed, time and node. */
  private guard<R>(nodeId: NodeId, fn: () => R): R {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SimulationError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new SimulationError(`machine threw: ${detail}`, this.seed, this.elapsedMs, nodeId, { cause: err });
    }
  }
}

/**
 * A small deterministic network for membership machine tests: machines by address, a
 * message queue delivered after a fixed delay (in send order), virtual time that jumps to
 * the next delivery or the earliest `nextDeadline()`, a drop predicate, crash / stall
 * / restart of nodes, and per-node clock offsets (a node's `now` is the harness's plus its
 * offset). Everything derives from one seed.
 */
import type { Millis } from '../../src/core/clock.js';
import type { Channel } from '../../src/core/machine.js';
import type { Address, NodeId, Tags } from '../../src/core/model.js';
import { SeededRandom } from '../../src/core/random.js';
import type { SwimConfig } from '../../src/membership/config.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import { SwimMachine, type SwimMachineOptions } from '../../src/membership/swim.js';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.js';

/** A message on the simulated wire. */
export interface Packet {
  readonly at: Millis;
  readonly seq: number;
  readonly from: Address;
  readonly to: Address;
  readonly channel: Channel;
  readonly message: Message;
}

/** Decides whether a packet is lost. */
export type DropPredicate = (packet: Packet) => boolean;

/** Options of one simulated node. */
export interface NodeOptions {
  readonly seeds?: readonly Address[];
  /** False for a node that was a member before (see `SwimMachineOptions.formAllowed`). */
  readonly formAllowed?: boolean;
  readonly config?: Partial<SwimConfig>;
  readonly tags?: Tags;
  readonly clusterId?: string;
  readonly verifyJoin?: SwimMachineOptions['verifyJoin'];
  readonly sizeOf?: SwimMachineOptions['sizeOf'];
  readonly sizeOfMessage?: SwimMachineOptions['sizeOfMessage'];
  /** Per-message gossip byte budget, as a UDP driver would ask. */
  readonly datagramBudget?: number;
  /** How far this node's wall clock is ahead of the harness's (negative: behind), ms. */
  readonly clockOffsetMs?: number;
}

/** Virtual time starts here, so initial incarnations look like real ones. */
export const EPOCH_MS = 1_700_000_000_000;

/** The address of node `name`. */
export function addr(name: NodeId): Address {
  return `${name}:7946`;
}

/** A deterministic network of membership machines. */
export class Harness {
  now: Millis = EPOCH_MS;
  readonly machines = new Map<NodeId, SwimMachine>();
  readonly events = new Map<NodeId, MembershipEvent[]>();
  /** Every packet sent (delivered or not), for assertions. */
  readonly sent: Packet[] = [];
  drop: DropPredicate = () => false;
  private readonly root: SeededRandom;
  private readonly byAddress = new Map<Address, NodeId>();
  private readonly down = new Set<NodeId>();
  private readonly stalled = new Set<NodeId>();
  private readonly clockOffsets = new Map<NodeId, Millis>();
  private queue: Packet[] = [];
  private seq = 0;

  constructor(
    seed: number,
    readonly delayMs = 2,
  ) {
    this.root = new SeededRandom(seed);
  }

  /** Creates (or replaces, for a restart) node `name` at the current time. */
  add(name: NodeId, options: NodeOptions = {}): SwimMachine {
    this.clockOffsets.set(name, options.clockOffsetMs ?? 0);
    const machine = new SwimMachine({
      self: { nodeId: name, address: addr(name), tags: options.tags ?? {} },
      clusterId: options.clusterId ?? 'test-cluster',
      seeds: options.seeds ?? [],
      random: this.root.fork(),
      now: this.clockOf(name),
      ...(options.formAllowed === undefined ? {} : { formAllowed: options.formAllowed }),
      ...(options.config === undefined ? {} : { config: options.config }),
      ...(options.verifyJoin === undefined ? {} : { verifyJoin: options.verifyJoin }),
      ...(options.sizeOf === undefined ? {} : { sizeOf: options.sizeOf }),
      ...(options.sizeOfMessage === undefined ? {} : { sizeOfMessage: options.sizeOfMessage }),
    });
    if (options.datagramBudget !== undefined) machine.setDatagramBudget(options.datagramBudget);
    this.machines.set(name, machine);
    this.byAddress.set(addr(name), name);
    this.events.set(name, []);
    this.down.delete(name);
    this.stalled.delete(name);
    return machine;
  }

  /** Creates `names`, the first forming the cluster and the rest joining through it. */
  cluster(names: readonly NodeId[], options: NodeOptions = {}): void {
    const [first, ...rest] = names;
    this.add(first!, options);
    this.start(first!);
    for (const name of rest) {
      this.add(name, { ...options, seeds: options.seeds ?? [addr(first!)] });
      this.start(name);
    }
  }

  node(name: NodeId): SwimMachine {
    const machine = this.machines.get(name);
    if (machine === undefined) throw new Error(`no node ${name}`);
    return machine;
  }

  /** Node `name`'s clock steps to `offsetMs` off the harness's (an operator or NTP stepped it). */
  setClockOffset(name: NodeId, offsetMs: Millis): void {
    this.clockOffsets.set(name, offsetMs);
  }

  /** Node `name`'s wall clock now: the harness's time plus its offset. */
  clockOf(name: NodeId): Millis {
    return this.now + (this.clockOffsets.get(name) ?? 0);
  }

  /** `name`'s next deadline, on the harness's time line. */
  private deadlineOf(name: NodeId, machine: SwimMachine): Millis | undefined {
    const deadline = machine.nextDeadline();
    return deadline === undefined ? undefined : deadline - (this.clockOffsets.get(name) ?? 0);
  }

  start(name: NodeId): void {
    this.node(name).start(this.clockOf(name));
    this.drain(name);
  }

  /** The node stops for good: no ticks, and packets to it are lost. */
  crash(name: NodeId): void {
    this.down.add(name);
  }

  /** The node freezes (no ticks, inbound packets lost) until `resume`. */
  stall(name: NodeId): void {
    this.stalled.add(name);
  }

  resume(name: NodeId): void {
    this.stalled.delete(name);
  }

  /** True while `name` runs (not crashed, not stalled). */
  isUp(name: NodeId): boolean {
    return this.machines.has(name) && !this.down.has(name) && !this.stalled.has(name);
  }

  /** Runs an action on a node now, then collects its output. */
  act(name: NodeId, action: (m: SwimMachine, now: Millis) => void): void {
    action(this.node(name), this.clockOf(name));
    this.drain(name);
  }

  /** Splits the network: packets between different groups are lost. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((n) => groupOf.set(n, i)));
    this.drop = (p) => {
      const a = groupOf.get(this.byAddress.get(p.from) ?? '');
      const b = groupOf.get(this.byAddress.get(p.to) ?? '');
      return a !== undefined && b !== undefined && a !== b;
    };
  }

  heal(): void {
    this.drop = () => false;
  }

  /** Advances virtual time to `until`, delivering and ticking everything due on the way. */
  runUntil(until: Millis): void {
    for (let steps = 0; steps < 5_000_000; steps++) {
      const next = this.nextEventAt();
      if (next === undefined || next > until) {
        this.now = Math.max(this.now, until);
        return;
      }
      this.now = Math.max(this.now, next);
      this.deliverDue();
      for (const [name, machine] of this.machines) {
        if (!this.isUp(name)) continue;
        const deadline = this.deadlineOf(name, machine);
        if (deadline !== undefined && deadline <= this.now) {
          machine.tick(this.clockOf(name));
          this.drain(name);
        }
      }
    }
    throw new Error('harness: too many steps');
  }

  runFor(ms: Millis): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until `done()` holds (checked after every step), at most `maxMs`; true when it held. */
  runUntilTrue(done: () => boolean, maxMs: Millis): boolean {
    const until = this.now + maxMs;
    while (!done()) {
      const next = this.nextEventAt();
      if (next === undefined || next > until) {
        this.now = until;
        return done();
      }
      this.runUntil(next);
    }
    return true;
  }

  /** Events of `name` of one type. */
  eventsOf<T extends MembershipEvent['type']>(name: NodeId, type: T): Extract<MembershipEvent, { type: T }>[] {
    return (this.events.get(name) ?? []).filter((e): e is Extract<MembershipEvent, { type: T }> => e.type === type);
  }

  /** The SWIM state `observer` holds of `subject`. */
  stateOf(observer: NodeId, subject: NodeId): string | undefined {
    return this.node(observer).member(subject)?.state;
  }

  private nextEventAt(): Millis | undefined {
    let best = this.queue[0]?.at;
    for (const [name, machine] of this.machines) {
      if (!this.isUp(name)) continue;
      const deadline = this.deadlineOf(name, machine);
      if (deadline !== undefined && (best === undefined || deadline < best)) best = Math.max(deadline, this.now);
    }
    return best;
  }

  private deliverDue(): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= this.now) {
      const packet = this.queue.shift()!;
      const to = this.byAddress.get(packet.to);
      if (to === undefined || !this.isUp(to) || this.drop(packet)) continue;
      this.node(to).handle(packet.from, packet.message, this.clockOf(to), packet.channel);
      this.drain(to);
    }
  }

  private drain(name: NodeId): void {
    const machine = this.node(name);
    for (let t = machine.pollTransmit(); t !== undefined; t = machine.pollTransmit()) {
      const packet: Packet = { at: this.now + this.delayMs, seq: this.seq++, from: addr(name), to: t.to, channel: t.channel, message: t.message };
      this.sent.push(packet);
      this.queue.push(packet);
    }
    const log = this.events.get(name)!;
    for (let e = machine.pollEvent(); e !== undefined; e = machine.pollEvent()) log.push(e);
  }
}

/**
 * A harness whose nodes `names` have formed a cluster in which every node sees every
 * other alive, then run 2 s more so the first gossip settles. Throws if they never do.
 */
export function joinedCluster(seed: number, names: readonly NodeId[]): Harness {
  const h = new Harness(seed);
  h.cluster(names);
  const allAlive = (): boolean => names.every((o) => names.every((s) => h.stateOf(o, s) === 'alive'));
  if (!h.runUntilTrue(allAlive, 10_000)) throw new Error(`seed ${seed}: ${names.length} nodes did not converge within 10 s`);
  h.runFor(2_000);
  return h;
}

/**
 * Has master `m` (a node that formed its cluster alone) admit `ids` the way a real join
 * does, with a JoinRequest, so rumours may introduce them; the join's own output is
 * drained. Tests that script a member list by hand need this: the machine strips Alive
 * claims about nodes no master admitted.
 */
export function admitJoiners(m: SwimMachine, ids: readonly NodeId[], now: Millis, clusterId: string): void {
  for (const nodeId of ids) {
    m.handle(`${nodeId}:1`, { type: 'JoinRequest', node: { nodeId, address: `${nodeId}:1`, tags: {} }, clusterId, protocolVersion: PROTOCOL_VERSION, authToken: '', sentAt: now }, now);
  }
  while (m.pollTransmit() !== undefined);
  while (m.pollEvent() !== undefined);
}

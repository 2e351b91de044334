/**
 * One simulated Flotilla node with partitions: the real `SwimMachine`, and the real
 * sharding layer (`Sharding` with the real `KvService` registered) hosted by the real
 * `ShardingService` in a `ServiceHost`, bound to virtual time and the simulated network
 * the way `src/node/driver.ts` binds them to a clock and sockets. To the simulation it
 * is one sans-IO machine: inputs come in through `handle`, due work runs in `tick`, and
 * both run one driver turn in the driver's order (inputs, membership tick, service
 * wake-ups, due timers, membership events to the services, the services' turn, then the
 * transmits). Services' timers live in the driver's own timer heap on virtual time, so
 * a paused node's timers wait with it and a crashed node's never fire. Requests travel as
 * `SimRequest`/`SimResponse` with a correlation id and time out in virtual time.
 */
import type { Millis } from '../../src/core/clock.js';
import { FlotillaError, isFlotillaError } from '../../src/core/errors.js';
import type { SansIoMachine, Transmit } from '../../src/core/machine.js';
import type { Address, MembersViewData, NodeId } from '../../src/core/model.js';
import type { Random } from '../../src/core/random.js';
import type { Timers } from '../../src/core/timers.js';
import { KvService } from '../../src/grid/kv-service.js';
import { SingletonService } from '../../src/entities/singleton-service.js';
import { resolveDurableConfig, type DurableConfig } from '../../src/durable/durable-config.js';
import { DurableRuntime } from '../../src/durable/durable-runtime.js';
import type { TimerKind } from '../../src/durable/timer-kind.js';
import type { AnyWorkflowDefinition } from '../../src/durable/workflow-definition.js';
import type { SingletonDefinition } from '../../src/entities/singleton-definition.js';
import type { Storage } from '../../src/storage/storage.js';
import type { KvConfig } from '../../src/grid/kv-config.js';
import type { SwimConfig } from '../../src/membership/config.js';
import type { MembershipEvent } from '../../src/membership/events.js';
import { MEMBERSHIP_MESSAGE_TYPES } from '../../src/membership/index.js';
import { SwimMachine } from '../../src/membership/swim.js';
import { ServiceHost } from '../../src/node/service-host.js';
import type { NodeContext } from '../../src/node/service.js';
import { ShardingService } from '../../src/node/sharding-service.js';
import { TimerHeap } from '../../src/node/timer-heap.js';
import type { Message } from '../../src/protocol/messages.js';
import { Sharding, type ShardingOptions } from '../../src/sharding/sharding.js';
import { observedKv, type ServedWrite } from './kv-observer.js';
import type { SimLog } from './sim-logger.js';
import type { SimRequest, SimResponse, SimWire } from './wire.js';

/** Cluster id of every simulated sharded node. */
export const SHARD_SIM_CLUSTER_ID = 'sim';

/** Pending service timers per node (the driver's `serviceTimersMax` default). */
export const SIM_TIMERS_MAX = 1_000_000;

/** Service timers one turn runs before it leaves the rest to the next turn (the driver's `timersPerTurnMax`). */
export const SIM_TIMERS_PER_TURN_MAX = 4_096;

/** Requests one node may have waiting for an answer (the transport's bound on pending requests). */
export const SIM_PENDING_REQUESTS_MAX = 100_000;

/** What a host is built from. */
export interface ShardHostOptions {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly seeds: readonly Address[];
  readonly random: Random;
  /** Creation time (the membership incarnation derives from it). */
  readonly now: Millis;
  /** The simulation's clock. */
  readonly clock: () => Millis;
  /** Ask the simulation to drain this machine and re-read its deadline (work finished outside an input or tick). */
  readonly poke: () => void;
  readonly log: SimLog;
  readonly swim?: Partial<SwimConfig>;
  readonly sharding?: ShardingOptions;
  readonly kv?: Partial<KvConfig>;
  /** Every write this node's KV owner handler acknowledges. */
  readonly onServed?: (write: ServedWrite) => void;
  /** Cluster singletons to host, over a store every simulated node shares. */
  readonly singletons?: SimSingletons;
  /** Workflows and durable timers to host, over a store every simulated node shares. */
  readonly durable?: SimDurable;
}

/** Singletons of a simulation: the definitions and the one shared (fenced) store. */
export interface SimSingletons {
  readonly definitions: readonly SingletonDefinition[];
  readonly storage: Storage;
}

/** Durable execution of a simulation: what each node hosts, built per node so a scenario can see which node ran what. */
export interface SimDurable {
  /** The store as this node sees it (a view of the one shared, fenced store). */
  storage(nodeId: NodeId): Storage;
  workflows(nodeId: NodeId, timers: Timers): readonly AnyWorkflowDefinition[];
  timerKinds(nodeId: NodeId, timers: Timers): readonly TimerKind[];
  readonly config?: Partial<DurableConfig>;
}

interface PendingRequest {
  readonly resolve: (message: Message) => void;
  readonly reject: (err: Error) => void;
  readonly timer: { cancel(): void };
}

/** A simulated node: membership, the sharding layer and the KV store, driven in turns. */
export class ShardHost implements SansIoMachine<SimWire, MembershipEvent> {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly swim: SwimMachine;
  readonly sharding: Sharding;
  readonly kv: KvService;
  /** The singleton service, when the simulation hosts singletons. */
  readonly singletons: SingletonService | undefined;
  /** The workflow and timer services, when the simulation hosts durable execution. */
  readonly durable: DurableRuntime | undefined;
  /** The services' clock and timers (the driver's `timers`). */
  readonly timers: Timers;
  private readonly clock: () => Millis;
  private readonly poke: () => void;
  private readonly services: ServiceHost;
  private readonly heap = new TimerHeap(SIM_TIMERS_MAX);
  private readonly outbox: Transmit<SimWire>[] = [];
  private outHead = 0;
  /** Service sends wait for the next turn, after the membership machine's (the driver's `serviceOutbox`). */
  private serviceOutbox: Transmit<Message>[] = [];
  private readonly events: MembershipEvent[] = [];
  private eventHead = 0;
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  /** Inside `handle` or `tick`: the simulation drains afterwards, so nothing needs a poke. */
  private busy = false;
  private turnWanted = false;
  private stopped = false;
  private readonly counters = { turns: 0, timerFailures: 0, requestsSent: 0, requestsTimedOut: 0, lateResponses: 0 };

  constructor(options: ShardHostOptions) {
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.clock = options.clock;
    this.poke = options.poke;
    const logger = options.log.logger({ node: options.nodeId });
    this.swim = new SwimMachine({
      self: { nodeId: options.nodeId, address: options.address, tags: {} },
      clusterId: SHARD_SIM_CLUSTER_ID,
      seeds: options.seeds,
      random: options.random,
      now: options.now,
      config: options.swim,
    });
    this.timers = {
      now: () => this.clock(),
      at: (at, fn) => {
        if (this.stopped) {
          queueMicrotask(fn);
          return { cancel: () => undefined };
        }
        const handle = this.heap.add(at, fn);
        this.reschedule();
        return handle;
      },
      // The driver defers to the event loop's next round (setImmediate): here, the next turn.
      defer: (fn) => {
        this.heap.add(this.clock(), fn);
        this.reschedule();
      },
    };
    this.sharding = new Sharding(options.sharding);
    this.kv = new KvService(options.kv);
    this.sharding.register(options.onServed === undefined ? this.kv : observedKv(this.kv, options.clock, options.onServed));
    const singletons = options.singletons;
    this.singletons = singletons === undefined ? undefined : new SingletonService({ nodeId: options.nodeId, definitions: singletons.definitions, storage: singletons.storage, logger: logger.child({ service: 'singletons' }) });
    if (this.singletons !== undefined) this.sharding.register(this.singletons);
    const durable = options.durable;
    this.durable =
      durable === undefined
        ? undefined
        : new DurableRuntime({
            nodeId: options.nodeId,
            storage: durable.storage(options.nodeId),
            workflows: durable.workflows(options.nodeId, this.timers),
            timerKinds: durable.timerKinds(options.nodeId, this.timers),
            config: resolveDurableConfig(durable.config),
            logger: logger.child({ service: 'durable' }),
          });
    if (this.durable !== undefined) {
      this.sharding.register(this.durable.timers);
      this.sharding.register(this.durable.workflows);
    }
    const service = new ShardingService(this.sharding, () => this.swim.isReadOnly(this.clock()));
    this.services = new ServiceHost([service], logger);
    // Services start before the membership machine, as in `RunningNode.start`; the
    // simulation drains the new machine once it is built, so no poke is needed meanwhile.
    this.busy = true;
    try {
      void this.services.startAll((s, index) => this.context(index, logger.child({ service: s.name })));
      this.swim.start(options.now);
    } finally {
      this.busy = false;
    }
  }

  // -------------------------------------------------------------------------------------
  // The simulation's side: SansIoMachine
  // -------------------------------------------------------------------------------------

  handle(from: Address, wire: SimWire, now: Millis): void {
    this.busy = true;
    try {
      this.input(from, wire, now);
      this.turn(now);
    } finally {
      this.busy = false;
    }
  }

  tick(now: Millis): void {
    this.busy = true;
    try {
      this.turn(now);
    } finally {
      this.busy = false;
    }
  }

  nextDeadline(): Millis | undefined {
    if (this.stopped) return undefined;
    if (this.turnWanted) return this.clock();
    return earliest(earliest(this.swim.nextDeadline(), this.services.nextWake()), this.heap.nextDue());
  }

  pollTransmit(): Transmit<SimWire> | undefined {
    if (this.outHead >= this.outbox.length) {
      this.outbox.length = 0;
      this.outHead = 0;
      return undefined;
    }
    return this.outbox[this.outHead++];
  }

  pollEvent(): MembershipEvent | undefined {
    if (this.eventHead >= this.events.length) {
      this.events.length = 0;
      this.eventHead = 0;
      return undefined;
    }
    return this.events[this.eventHead++];
  }

  // -------------------------------------------------------------------------------------
  // The node's lifecycle
  // -------------------------------------------------------------------------------------

  /**
   * Graceful leave, as `RunningNode.leave` does it: the sharding layer drains (hands every
   * replica to the others) until `drainDeadline`, then the membership machine leaves.
   * Resolves once the leave is under way; `hasLeft()` says when it is done.
   */
  async leave(drainDeadline: Millis): Promise<void> {
    await this.sharding.drain(drainDeadline);
    this.swim.leave(this.clock());
    this.wake();
  }

  /** Whether the membership machine has finished leaving. */
  hasLeft(): boolean {
    return this.swim.hasLeft();
  }

  /** The process exits: services stop, pending requests fail, timers run at once (as the driver's close does). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      this.pending.delete(id);
      p.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    }
    this.heap.flushAll(() => this.counters.timerFailures++);
    await this.sharding.stop();
  }

  /** Driver counters. */
  stats(): Readonly<typeof this.counters> & { readonly serviceErrors: number; readonly pendingRequests: number } {
    return { ...this.counters, serviceErrors: this.services.errors, pendingRequests: this.pending.size };
  }

  // -------------------------------------------------------------------------------------
  // The driver
  // -------------------------------------------------------------------------------------

  private input(from: Address, wire: SimWire, now: Millis): void {
    if (this.stopped) return;
    switch (wire.type) {
      case 'SimRequest':
        this.answer(from, wire);
        return;
      case 'SimResponse':
        this.settle(wire);
        return;
      default:
        if (MEMBERSHIP_MESSAGE_TYPES.has(wire.type)) this.swim.handle(from, wire, now);
        else this.services.deliverMessage(from, wire, 'tcp');
    }
  }

  /** One driver turn, in `NodeDriver.runTurn`'s order. */
  private turn(now: Millis): void {
    this.turnWanted = false;
    if (this.stopped) return;
    this.counters.turns++;
    const due = this.swim.nextDeadline();
    if (due !== undefined && now >= due) this.swim.tick(now);
    this.services.tickDue(now);
    const backlog = this.heap.runDue(now, SIM_TIMERS_PER_TURN_MAX, () => this.counters.timerFailures++);
    for (let e = this.swim.pollEvent(); e !== undefined; e = this.swim.pollEvent()) {
      this.services.deliverEvent(e);
      this.events.push(e);
    }
    this.services.turnAll(now);
    for (let t = this.swim.pollTransmit(); t !== undefined; t = this.swim.pollTransmit()) this.outbox.push(t);
    for (const t of this.serviceOutbox) this.outbox.push(t);
    this.serviceOutbox = [];
    if (backlog) this.turnWanted = true;
  }

  /** A request from a peer: answered by the services, replied to when it settles (as the transport does). */
  private answer(from: Address, wire: SimRequest): void {
    Promise.resolve()
      .then(() => this.services.answer(from, wire.message))
      .then(
        (message) => this.reply(from, { type: 'SimResponse', id: wire.id, message }),
        (err: unknown) => {
          const e = isFlotillaError(err) ? err : new FlotillaError('FLO_INTERNAL', err instanceof Error ? err.message : String(err));
          this.reply(from, { type: 'SimResponse', id: wire.id, error: { code: e.code, message: e.message } });
        },
      );
  }

  private reply(to: Address, response: SimResponse): void {
    if (this.stopped) return;
    this.outbox.push({ to, channel: 'tcp', message: response });
    this.reschedule();
  }

  private settle(wire: SimResponse): void {
    const p = this.pending.get(wire.id);
    if (p === undefined) {
      this.counters.lateResponses++;
      return;
    }
    this.pending.delete(wire.id);
    p.timer.cancel();
    if (wire.message !== undefined) p.resolve(wire.message);
    else p.reject(new FlotillaError(wire.error?.code ?? 'FLO_INTERNAL', `remote: ${wire.error?.message ?? ''}`, { remoteCode: wire.error?.code }));
  }

  /** `transport.request` on the simulated network: an id, a virtual-time timeout, the answer as a message. */
  private request(to: Address, message: Message, timeoutMs: number): Promise<Message> {
    if (this.stopped) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'transport is closed'));
    if (this.pending.size >= SIM_PENDING_REQUESTS_MAX) return Promise.reject(new FlotillaError('FLO_QUEUE_FULL', 'too many pending requests'));
    const id = this.nextRequestId++;
    this.counters.requestsSent++;
    return new Promise<Message>((resolve, reject) => {
      const timer = this.heap.add(this.clock() + timeoutMs, () => {
        if (!this.pending.delete(id)) return;
        this.counters.requestsTimedOut++;
        reject(new FlotillaError('FLO_TIMEOUT', `no response within ${timeoutMs} ms`, { timeoutMs }));
      });
      this.pending.set(id, { resolve, reject, timer });
      this.outbox.push({ to, channel: 'tcp', message: { type: 'SimRequest', id, message } });
      this.reschedule();
    });
  }

  /** Something changed outside a turn: run one soon (the driver's `scheduleTurn`). */
  private wake(): void {
    if (this.stopped) return;
    this.turnWanted = true;
    this.reschedule();
  }

  /** Outputs or deadlines changed outside `handle`/`tick`: have the simulation look (the driver's `armTimer`). */
  private reschedule(): void {
    if (!this.busy) this.poke();
  }

  private context(index: number, logger: NodeContext['logger']): NodeContext {
    return {
      nodeId: this.nodeId,
      address: this.address,
      logger,
      now: () => this.clock(),
      timers: this.timers,
      wake: () => this.wake(),
      send: (transmit) => {
        if (this.stopped) return;
        this.serviceOutbox.push(transmit);
        if (!this.busy) this.wake();
      },
      request: (to, message, timeoutMs) => this.request(to, message, timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      membersView: () => this.membersView(),
      addressOf: (id) => this.membersView().members.find((m) => m.nodeId === id)?.address,
      isMaster: () => this.swim.isMaster(),
      wakeAt: (at) => {
        this.services.wakeAt(index, at);
        this.reschedule();
      },
      updateTags: (tags) => {
        this.swim.updateTags(tags);
        this.wake();
      },
    };
  }

  private membersView(): MembersViewData {
    return this.swim.membersView() ?? { version: 0, members: [] };
  }
}

/** The transport's default request timeout, for callers that give none. */
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

function earliest(a: Millis | undefined, b: Millis | undefined): Millis | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

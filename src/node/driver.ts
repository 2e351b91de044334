/**
 * The node driver: binds the sans-IO membership machine and the hosted services to real
 * sockets and timers. Inbound messages wait in a bounded inbox; the driver works in
 * turns (inputs, due ticks, events, transmits), each bounded, yields to the event loop
 * between them, and keeps one timer at the earliest deadline anyone asked for. Nothing a
 * peer sends, and no failing send, can throw out of it.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Channel, Transmit } from '../core/machine.js';
import type { Address, MembersViewData, NodeId } from '../core/model.js';
import { BoundedQueue } from '../core/bounded-queue.js';
import type { MembershipEvent } from '../membership/events.js';
import type { SwimMachine } from '../membership/swim.js';
import type { Message, MessageType } from '../protocol/messages.js';
import type { ClusterTransport } from '../transport/transport.js';
import type { DriverConfig } from './driver-config.js';
import type { DriverStats } from './driver-stats.js';
import { EventLoopLagMonitor } from './event-loop-lag.js';
import { LogLimiter } from './log-limiter.js';
import { Outbound } from './outbound.js';
import type { NodeContext, NodeLogger, NodeService } from './service.js';
import { MEMBERSHIP_MESSAGE_TYPES } from '../membership/index.js';
import type { ServiceHost } from './service-host.js';
import type { Timers } from '../core/timers.js';
import { TimerHeap } from './timer-heap.js';

/** What the driver is given. */
export interface NodeDriverOptions {
  readonly machine: SwimMachine;
  readonly transport: ClusterTransport;
  readonly services: ServiceHost;
  readonly logger: NodeLogger;
  readonly config: DriverConfig;
  /** Wall-clock milliseconds. */
  readonly clock: () => Millis;
  /** Each membership event, after the services got it. */
  readonly onEvent: (event: MembershipEvent) => void;
}

interface Inbound {
  readonly from: Address;
  readonly message: Message;
  readonly channel: Channel;
}

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: (ok: boolean) => void;
}

type Phase = 'new' | 'running' | 'closed';


/** Runs one node's machine and services. */
export class NodeDriver {
  private readonly machine: SwimMachine;
  private readonly transport: ClusterTransport;
  private readonly services: ServiceHost;
  private readonly config: DriverConfig;
  private readonly clock: () => Millis;
  private readonly log: NodeLogger;
  private readonly inbox: BoundedQueue<Inbound>;
  private readonly serviceOutbox: BoundedQueue<Transmit<Message>>;
  private readonly limiter: LogLimiter;
  private readonly lag = new EventLoopLagMonitor();
  private readonly timerHeap: TimerHeap;
  /** The services' clock and timers: fired in turns, from the driver's one OS timer. */
  readonly timers: Timers;
  private readonly waiters = new Set<Waiter>();
  private phase: Phase = 'new';
  private inTurn = false;
  private turnScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: Millis | undefined;
  private viewCache: { view: MembersViewData; addresses: Map<NodeId, Address> } | undefined;
  private readonly counts = { turns: 0, inputs: 0, transmits: 0, turnFailures: 0, tcpAcksReceived: 0 };
  private readonly outbound: Outbound;
  private readonly unrouted: Partial<Record<MessageType, number>> = {};

  constructor(private readonly options: NodeDriverOptions) {
    this.machine = options.machine;
    this.transport = options.transport;
    this.services = options.services;
    this.config = options.config;
    this.clock = options.clock;
    this.log = options.logger;
    this.inbox = new BoundedQueue(options.config.inboxMax);
    this.serviceOutbox = new BoundedQueue(options.config.serviceOutboxMax);
    this.limiter = new LogLimiter(options.config.sendErrorLogIntervalMs, options.config.logKeysMax);
    this.outbound = new Outbound(options.transport, this.limiter, options.logger, (from, response) => this.receive(from, response, 'tcp'));
    this.timerHeap = new TimerHeap(options.config.serviceTimersMax);
    this.timers = {
      now: () => this.clock(),
      at: (at, fn) => {
        if (this.phase === 'closed') {
          // Fired at once so that waits end on shutdown, but as a macrotask: a service that
          // re-arms from its callback then cannot starve the event loop.
          setImmediate(fn);
          return { cancel: () => undefined };
        }
        const handle = this.timerHeap.add(at, fn);
        if (!this.inTurn) this.armTimer();
        return handle;
      },
      defer: (fn) => setImmediate(fn),
    };
  }

  /** Takes over the transport's inbound messages and requests. */
  attach(): void {
    if (this.phase !== 'new') return;
    this.phase = 'running';
    this.lag.start();
    // The handlers stay until the transport closes, so late traffic is ignored quietly
    // rather than logged by the transport as having no handler.
    this.transport.onMessage((from, message, channel) => this.receive(from, message, channel));
    this.transport.onRequest((from, message) => {
      if (this.phase !== 'running') throw new FlotillaError('FLO_NODE_STOPPED', 'node is stopping');
      return this.services.answer(from, message);
    });
  }

  /** Starts the membership machine (join or form) and runs the first turn. */
  startMachine(): void {
    this.machine.start(this.clock());
    this.kick();
  }

  /** Something changed the machine from outside a turn (a tag update, a leave): run a turn soon. */
  kick(): void {
    this.scheduleTurn();
  }

  /** The context handed to service `index`. */
  contextFor(service: NodeService, index: number): NodeContext {
    const local = this.machine.localState();
    return {
      nodeId: local.nodeId,
      address: local.address,
      logger: this.log.child({ service: service.name }),
      now: () => this.clock(),
      timers: this.timers,
      wake: () => this.scheduleTurn(),
      send: (transmit) => this.enqueueServiceTransmit(transmit),
      request: (to, message, timeoutMs) => this.transport.request(to, message, timeoutMs),
      membersView: () => this.machine.membersView() ?? { version: 0, members: [] },
      addressOf: (nodeId) => this.addressOf(nodeId),
      isMaster: () => this.machine.isMaster(),
      wakeAt: (at) => {
        this.services.wakeAt(index, at);
        if (!this.inTurn) this.armTimer();
      },
      updateTags: (tags) => {
        this.machine.updateTags(tags);
        this.scheduleTurn();
      },
    };
  }

  /** Resolves after the next turn completed (false when the driver closed first). */
  nextTurn(): Promise<boolean> {
    const turns = this.counts.turns;
    this.scheduleTurn();
    return this.until(() => this.counts.turns > turns);
  }

  /**
   * Resolves true once `ready()` holds after a turn, false after `timeoutMs` or when the
   * driver closes. `ready` must be cheap: it runs after every turn.
   */
  until(ready: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (this.phase === 'closed') return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        ready,
        resolve: (ok) => {
          if (timer !== undefined) clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      this.waiters.add(waiter);
      if (timeoutMs !== undefined) timer = setTimeout(() => waiter.resolve(false), timeoutMs);
    });
  }

  /**
   * Stops the loop. With `flush`, first hands every queued transmit to the transport and
   * waits (at most `flushTimeoutMs`) for the sends in flight, so a leave announcement is
   * on the wire before the sockets close.
   */
  async close(flush: boolean, flushTimeoutMs: number): Promise<void> {
    if (this.phase === 'closed') return;
    if (flush && this.phase === 'running') {
      this.flushAll();
      await this.outbound.idle(flushTimeoutMs);
    }
    this.phase = 'closed';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lag.stop();
    for (const waiter of [...this.waiters]) waiter.resolve(false);
    // Pending service timers run now, so loops waiting on them see the stop and end.
    this.timerHeap.flushAll((err) => this.log.error({ err }, 'service timer failed'));
  }

  /** Counters. */
  stats(): DriverStats {
    const machine = this.machine.stats();
    return {
      ...this.counts,
      inboxQueued: this.inbox.size,
      inboxDropped: this.inbox.dropped,
      serviceOutboxDropped: this.serviceOutbox.dropped,
      sendErrors: { ...this.outbound.errors },
      unrouted: { ...this.unrouted },
      rumoursRejected: machine.rumoursRejected,
      serviceErrors: this.services.errors,
      tcpAcksSent: machine.tcpAcksSent,
      eventLoopLag: this.lag.read(),
    };
  }

  private timerFailed(err: unknown): void {
    this.counts.turnFailures++;
    this.log.error({ err }, 'service timer failed');
  }

  private receive(from: Address, message: Message, channel: Channel): void {
    if (this.phase !== 'running') return;
    this.inbox.push({ from, message, channel });
    this.scheduleTurn();
  }

  private enqueueServiceTransmit(transmit: Transmit<Message>): void {
    if (this.phase !== 'running') return;
    this.serviceOutbox.push(transmit);
    if (!this.inTurn) this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.phase !== 'running') return;
    this.turnScheduled = true;
    setImmediate(() => this.runTurn());
  }

  /** One bounded batch of work; schedules the next turn or the timer. */
  private runTurn(): void {
    this.turnScheduled = false;
    if (this.phase !== 'running' || this.inTurn) return;
    this.inTurn = true;
    let backlog = false;
    try {
      const now = this.clock();
      backlog = this.processInbox(now);
      const deadline = this.machine.nextDeadline();
      if (deadline !== undefined && now >= deadline) this.machine.tick(now);
      this.services.tickDue(now);
      backlog = this.timerHeap.runDue(now, this.config.timersPerTurnMax, (err) => this.timerFailed(err)) || backlog;
      backlog = this.deliverEvents() || backlog;
      this.services.turnAll(now);
      backlog = this.flushTransmits(now, this.config.transmitsPerTurnMax) || backlog;
    } catch (err) {
      this.counts.turnFailures++;
      this.log.error({ err }, 'driver turn failed');
    } finally {
      this.inTurn = false;
    }
    this.counts.turns++;
    if (backlog || this.inbox.size > 0) this.scheduleTurn();
    this.armTimer();
    for (const waiter of [...this.waiters]) if (waiter.ready()) waiter.resolve(true);
  }

  /** Handles up to `inputsPerTurnMax` inbound messages; true when more wait. */
  private processInbox(now: Millis): boolean {
    for (let i = 0; i < this.config.inputsPerTurnMax; i++) {
      const item = this.inbox.shift();
      if (item === undefined) return false;
      this.counts.inputs++;
      this.route(item, now);
    }
    return this.inbox.size > 0;
  }

  private route({ from, message, channel }: Inbound, now: Millis): void {
    if (MEMBERSHIP_MESSAGE_TYPES.has(message.type)) {
      if (channel === 'tcp' && message.type === 'Ack') this.noteTcpAck(from, now);
      // The machine strips rumours about never-admitted nodes and answers a Ping on its channel.
      this.machine.handle(from, message, now, channel);
      return;
    }
    if (this.services.deliverMessage(from, message, channel)) return;
    this.unrouted[message.type] = (this.unrouted[message.type] ?? 0) + 1;
    const suppressed = this.limiter.allow(`unrouted|${message.type}`, now);
    if (suppressed !== undefined) this.log.warn({ type: message.type, from, channel, suppressed }, 'dropped a message no service takes');
  }

  private noteTcpAck(from: Address, now: Millis): void {
    this.counts.tcpAcksReceived++;
    const suppressed = this.limiter.allow(`tcp-ack|${from}`, now);
    if (suppressed !== undefined) {
      this.log.warn({ peer: from, suppressed }, 'probe answered over TCP after UDP failed: UDP may be blocked between this node and the peer');
    }
  }

  /** Delivers up to `eventsPerTurnMax` events; true when more wait. */
  private deliverEvents(): boolean {
    for (let i = 0; i < this.config.eventsPerTurnMax; i++) {
      const event = this.machine.pollEvent();
      if (event === undefined) return false;
      this.services.deliverEvent(event);
      this.options.onEvent(event);
    }
    return true;
  }

  /** Sends up to `max` transmits, membership first; true when the budget ran out. */
  private flushTransmits(now: Millis, max: number): boolean {
    let budget = max;
    for (; budget > 0; budget--) {
      const transmit = this.machine.pollTransmit();
      if (transmit === undefined) break;
      this.send(transmit, now);
    }
    for (; budget > 0; budget--) {
      const transmit = this.serviceOutbox.shift();
      if (transmit === undefined) break;
      this.send(transmit, now);
    }
    return budget === 0;
  }

  /** Everything still queued, for a final flush (bounded by the queues' own capacities). */
  private flushAll(): void {
    const now = this.clock();
    let more = true;
    while (more) more = this.flushTransmits(now, this.config.transmitsPerTurnMax);
  }

  private send(transmit: Transmit<Message>, now: Millis): void {
    this.counts.transmits++;
    this.outbound.send(transmit, now);
  }

  private armTimer(): void {
    if (this.phase !== 'running') return;
    const machineAt = this.machine.nextDeadline();
    const next = earliest(earliest(machineAt, this.services.nextWake()), this.timerHeap.nextDue());
    if (next === this.timerAt && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.clock()), this.config.timerWaitMaxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.runTurn();
    }, delay);
  }

  private addressOf(nodeId: NodeId): Address | undefined {
    const view = this.machine.membersView();
    if (view === undefined) return undefined;
    if (this.viewCache?.view !== view) {
      this.viewCache = { view, addresses: new Map(view.members.map((m) => [m.nodeId, m.address])) };
    }
    return this.viewCache.addresses.get(nodeId);
  }
}

function earliest(a: Millis | undefined, b: Millis | undefined): Millis | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * The sharding layer: the one host of every partitioned service. It runs the partition
 * coordinator machine (fed the master's members view and the partition messages, drained
 * in the host's turns), the migration executor that moves the registered participants'
 * data, the router that answers requests for owned partitions (NOT_OWNER hints,
 * forwarding, the read-only verdict on writes), the routing client with one deadline per
 * call, graceful drain and the split-brain merge handover. Services register once and
 * reach the cluster through their `ShardContext`.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import type { Transmit } from '../core/machine.js';
import type { Address, MembersViewData, PartitionTableData } from '../core/model.js';
import { sleep } from '../core/timers.js';
import { resolveCoordinatorConfig, type CoordinatorConfig } from '../partitions/coordinator-config.js';
import type { LineageDivergedEvent, PartitionEvent } from '../partitions/coordinator-events.js';
import type { CoordinatorStatus, PartitionTableReader } from '../partitions/coordinator.js';
import type { MigrationRecord, MigrationTotals } from '../partitions/migration-history.js';
import { EpochMemory } from '../partitions/epoch-memory.js';
import type { Message, MessageType } from '../protocol/messages.js';
import { resolveMigrationConfig, resolveRoutingConfig, type MigrationConfig, type RoutingConfig } from './config.js';
import type { ExecutorStatus } from './migration-executor.js';
import type { MigrationParticipant } from './participant.js';
import { checkRegistration, type LocalCall, type PartitionedService, type PartitionHandler, type RouteOptions, type ShardContext, type ShardingEnv } from './service.js';
import { routeLocal } from './local-call.js';
import { MergeHandover } from './split-brain-merge.js';
import { tracePartitionEvent } from './event-trace.js';
import { encodeHandoverTag, HandoverNotices, advertiseHandover } from './handover-notice.js';
import { buildParts, roleIn, type Running } from './sharding-parts.js';

export { roleIn } from './sharding-parts.js';
export { PARTITIONED_SERVICES_MAX } from './service.js';

/** One-way partition messages the layer takes. */
export const SHARDING_MESSAGE_TYPES: readonly MessageType[] = ['PartitionTableUpdate', 'FetchPartitionTable', 'MergedTable', 'MigrateStart', 'MigrateReady', 'MigrateFinalize', 'MigrateCancel', 'MigrateQuery', 'MigrateStatus'];
/** Requests the layer answers. */
export const SHARDING_REQUEST_TYPES: readonly MessageType[] = ['ServiceRequest', 'OpForward', 'MigrateData'];

/** How to build the layer. */
export interface ShardingOptions {
  /** Partition layout and coordinator timings (overrides of `DEFAULT_COORDINATOR_CONFIG`). */
  readonly partitions?: Partial<CoordinatorConfig>;
  readonly migration?: Partial<MigrationConfig>;
  readonly routing?: Partial<RoutingConfig>;
}

/** A snapshot for the admin API and tests. */
export interface ShardingStatus {
  readonly coordinator: CoordinatorStatus;
  readonly executor: ExecutorStatus;
  /** Split-brain merge handovers (and lineage changes) still handing this node's data over. */
  readonly mergeHandovers: number;
}

/** This side of a healed split is merging into another cluster. */
export interface MergeNotice {
  readonly previousMaster: string;
  readonly previousMembers: number;
  readonly targetMaster: string;
  readonly targetMembers: number;
}

/** The partitioned-service host of one node. */
export class Sharding {
  readonly config: CoordinatorConfig;
  private readonly migrationConfig: MigrationConfig;
  private readonly routingConfig: RoutingConfig;
  private readonly services: PartitionedService[] = [];
  private env: ShardingEnv | undefined;
  private running: Running | undefined;
  private handover: MergeHandover | undefined;
  private notices: HandoverNotices | undefined;
  private stopped = false;
  /** The services' handlers by name, for calls made here as objects. */
  private localHandlers: Map<string, PartitionHandler> | undefined;
  /**
   * Every claim of every table this node held, across the rebuilds of merges and lineage
   * changes: a fresh coordinator's master gives new owners epochs above it, and it is what
   * a rebuilt coordinator reports to its new master, so epochs never repeat across lineages.
   */
  private readonly epochMemory: EpochMemory;

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config. */
  constructor(options: ShardingOptions = {}) {
    this.config = resolveCoordinatorConfig(options.partitions);
    this.migrationConfig = resolveMigrationConfig(options.migration);
    this.routingConfig = resolveRoutingConfig(options.routing);
    this.epochMemory = new EpochMemory(this.config.partitionCount);
  }

  /**
   * Host `service` (before `start`). Every node of a cluster must register the same
   * services. @throws FlotillaError FLO_CONFIG_INVALID for a duplicate or invalid name,
   * a handler name taken twice, or a registration after start.
   */
  register(service: PartitionedService): void {
    if (this.env !== undefined) throw new FlotillaError('FLO_CONFIG_INVALID', `service ${service.name} registered after the sharding layer started`);
    checkRegistration(this.services, service);
    this.services.push(service);
  }

  /** Starts the layer and every registered service, in registration order. */
  start(env: ShardingEnv): void {
    if (this.env !== undefined) return;
    this.env = env;
    this.running = this.build(env);
    const context = this.context(env);
    for (const service of this.services) service.start?.(context);
    const view = env.membersView();
    if (view.version > 0) this.running.coordinator.onMembersView(view, env.timers.now());
  }

  // -------------------------------------------------------------------------------------
  // Inputs from the host
  // -------------------------------------------------------------------------------------

  /** A partition message from a peer. */
  handle(from: Address, message: Message): void {
    const r = this.live();
    if (r === undefined) return;
    r.coordinator.handle(from, message, this.env!.timers.now());
  }

  /** A new members view from the master. */
  onMembersView(view: MembersViewData): void {
    this.live()?.coordinator.onMembersView(view, this.env!.timers.now());
  }

  /** A request from a peer; the returned message is the reply. */
  answer(from: Address, message: Message): Promise<Message> {
    const r = this.live();
    if (r === undefined) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'sharding layer is not running'));
    switch (message.type) {
      case 'ServiceRequest':
        return r.router.serve(from, message);
      case 'OpForward':
        return r.router.serveForward(from, message);
      case 'MigrateData':
        return Promise.resolve(r.executor.onData(from, message));
      default:
        return Promise.reject(new FlotillaError('FLO_INVALID_ARGUMENT', `the sharding layer does not answer ${message.type}`));
    }
  }

  /**
   * One host turn: tick the coordinator when due, then drain what it wants sent and
   * what happened (events drive the executor). Returns the coordinator's next deadline.
   */
  turn(now: Millis): Millis | undefined {
    const r = this.live();
    if (r === undefined) return undefined;
    const due = r.coordinator.nextDeadline();
    if (due !== undefined && now >= due) r.coordinator.tick(now);
    // Executor reactions may feed the coordinator again; loop until both are quiet.
    let round = 0;
    for (; round < DRAIN_ROUNDS_MAX; round++) {
      let moved = false;
      for (let t: Transmit<Message> | undefined = r.coordinator.pollTransmit(); t !== undefined; t = r.coordinator.pollTransmit()) {
        this.env!.send(t);
        moved = true;
      }
      for (let e = r.coordinator.pollEvent(); e !== undefined && this.running === r; e = r.coordinator.pollEvent()) {
        this.onPartitionEvent(r, e);
        moved = true;
      }
      // The layer started over (`leaveLineage`): the old parts have nothing more to say.
      if (this.running !== r) return this.turn(now);
      if (!moved) break;
    }
    if (round === DRAIN_ROUNDS_MAX) this.env!.wake();
    r.drain.poke();
    return r.coordinator.nextDeadline();
  }

  /**
   * This node leaves its cluster for the winner of a healed split: partition state starts
   * over (a fresh coordinator takes the winner's view and table), and the data it held is
   * exported now and handed to the new owners once it has joined.
   */
  onMerge(notice: MergeNotice): void {
    const r = this.live();
    const env = this.env;
    if (r === undefined || env === undefined) return;
    env.logger.warn({ ...notice }, `merging into cluster of ${notice.targetMaster}: ${notice.previousMembers} members vs ${notice.targetMembers}`);
    this.startOver(r, env, r.coordinator.table().toData());
  }

  /**
   * Partition state starts over from `oldTable`, of a lineage this node leaves: the
   * executor stops, a fresh coordinator reports `oldTable` to its master (which raises
   * its epochs above it), and the data held under `oldTable` is exported now and handed
   * to the new owners once this node holds its master's table.
   */
  private startOver(r: Running, env: ShardingEnv, oldTable: PartitionTableData): Running {
    r.retire();
    r.executor.stop();
    r.drain.stop();
    // The memory holds `oldTable` and every earlier table: a node that starts over again
    // before it hears a table reports the claims of all the lineages it left, not none.
    const next = this.build(env, this.epochMemory.asTable() ?? oldTable);
    this.running = next;
    void this.mergeHandover(env).run(oldTable);
    env.wake();
    return next;
  }

  /**
   * The master publishes a table of another lineage than this node's (a heal without a
   * split-brain merge): what this node served under its own table is handed over through
   * the merge path, and it follows the master's table from scratch. It stays in its view,
   * so the fresh coordinator takes that view and fetches the master's table at once.
   */
  private leaveLineage(r: Running, event: LineageDivergedEvent): void {
    const env = this.env!;
    env.logger.warn(
      { event: 'LineageDiverged', master: event.master, masterTableVersion: event.masterTableVersion, tableVersion: event.table.version },
      `partition table of master ${event.master} is of another lineage: handing this node's partitions over`,
    );
    const next = this.startOver(r, env, event.table);
    const now = env.timers.now();
    next.coordinator.onMembersView(env.membersView(), now);
    next.coordinator.observeTableVersion(event.masterTableVersion, now);
  }

  /** Hand every partition this node holds to the others (graceful leave); settles by `deadline`. */
  async drain(deadline: Millis): Promise<void> {
    const r = this.live();
    if (r !== undefined) await r.drain.run(deadline);
  }

  /** Stops the layer, then the services, last registered first. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running?.executor.stop();
    this.running?.drain.stop();
    for (const service of [...this.services].reverse()) await service.stop?.();
  }

  // -------------------------------------------------------------------------------------
  // Calls and queries
  // -------------------------------------------------------------------------------------

  /** Run `payload` through `service` on the owner of `partition`; one deadline for the whole call. */
  route(service: string, partition: number, payload: Uint8Array | LocalCall, options?: RouteOptions): Promise<Uint8Array | undefined> {
    const r = this.live();
    if (r === undefined) return Promise.reject(new FlotillaError('FLO_NODE_STOPPED', 'sharding layer is not running'));
    if (payload instanceof Uint8Array) return r.client.call(service, partition, payload, options);
    // Services register before start, so the handlers are known for good by the first call.
    this.localHandlers ??= new Map(this.services.flatMap((s) => s.handlers.map((h) => [h.service, h] as const)));
    const local = { env: this.env!, table: r.coordinator.table(), client: r.client, opTimeoutMs: this.routingConfig.opTimeoutMs };
    return routeLocal(local, this.localHandlers.get(service), service, partition, payload, options);
  }

  /** The newest partition table this node has, or undefined before the first one. */
  table(): PartitionTableData | undefined {
    const table = this.running?.coordinator.table();
    return table === undefined || table.version === 0 ? undefined : table.toData();
  }

  /** The live partition table (cheap to read on every request), or undefined before `start`. */
  tableReader(): PartitionTableReader | undefined {
    return this.stopped ? undefined : this.running?.coordinator.table();
  }

  /** Migrations in flight here (as master, source or destination), recently finished ones, and totals since start. */
  migrations(): { inFlight: MigrationRecord[]; recent: MigrationRecord[]; totals?: MigrationTotals } {
    const coordinator = this.running?.coordinator;
    const all = coordinator?.migrations() ?? [];
    const lists = { inFlight: all.filter((m) => m.state !== 'finished'), recent: all.filter((m) => m.state === 'finished') };
    return coordinator === undefined ? lists : { ...lists, totals: coordinator.migrationTotals() };
  }

  /** Coordinator and executor counters. Throws FLO_NODE_STOPPED before `start`. */
  status(): ShardingStatus {
    const r = this.live();
    if (r === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'sharding layer is not running');
    return { coordinator: r.coordinator.status(), executor: r.executor.status(), mergeHandovers: this.handover?.running ?? 0 };
  }

  // -------------------------------------------------------------------------------------
  // Plumbing
  // -------------------------------------------------------------------------------------

  private live(): Running | undefined {
    return this.stopped ? undefined : this.running;
  }

  private participants(): MigrationParticipant[] {
    return this.services.flatMap((s) => (s.participant === undefined ? [] : [s.participant]));
  }

  /**
   * A fresh coordinator, executor, router and client. After a merge, `mergedFrom` is the
   * table this node left: the coordinator reports it to the new master, which raises the
   * epochs the losing side used so storage fences stay unambiguous.
   */
  private build(env: ShardingEnv, mergedFrom?: PartitionTableData): Running {
    return buildParts({
      env,
      coordinatorConfig: this.config,
      migrationConfig: this.migrationConfig,
      routingConfig: this.routingConfig,
      participants: this.participants(),
      handlers: [...this.services.flatMap((service) => service.handlers), ...this.mergeHandover(env).handlers()],
      stopped: () => this.stopped,
      epochMemory: this.epochMemory,
      handOver: (partitions) => {
        if (!this.stopped) void this.mergeHandover(env).runFor(new Set(partitions));
      },
      handingOver: (partition) => this.handover?.holds(partition) ?? false,
      ...(mergedFrom === undefined ? {} : { mergedFrom }),
    });
  }

  /** What services see; every call reaches the current parts, so it survives merge rebuilds. */
  private context(env: ShardingEnv): ShardContext {
    const parts = (): Running => {
      const r = this.live();
      if (r === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'sharding layer is not running');
      return r;
    };
    return {
      self: env.self,
      logger: env.logger,
      timers: env.timers,
      partitionCount: this.config.partitionCount,
      table: () => parts().coordinator.table(),
      roleOf: (p) => roleIn(parts().coordinator.table(), p, env.self),
      addressOf: (id) => env.addressOf(id),
      request: (to, message, timeoutMs) => env.request(to, message, timeoutMs),
      route: (service, partition, payload, options) => this.route(service, partition, payload, options),
      flushSealed: (p) => parts().executor.flushSealed(p),
      observeTableVersion: (v) => {
        this.live()?.coordinator.observeTableVersion(v, env.timers.now());
        env.wake();
      },
      readOnly: () => env.readOnly(),
      writeRefusal: (p) => env.writeRefusal?.(p),
      movingOwnerOut: (p) => this.movingOwnerOut(p),
      awaitingData: (p) => this.awaitingData(env, p),
      stopped: () => this.stopped,
    };
  }

  /**
   * Whether data of `partition` may be missing here for now: it is still being handed over
   * (by this node, or by a member that advertises it), or this node follows a master it has
   * not heard from yet, so the table that made it the owner may be another side's (after
   * a short heal, a minority node takes the winner's view before its table).
   */
  private awaitingData(env: ShardingEnv, partition: number): boolean {
    if (this.handover?.holds(partition) === true) return true;
    if (this.live()?.coordinator.followsHeardMaster() === false) return true;
    this.notices ??= new HandoverNotices(env.self, this.config.partitionCount);
    return this.notices.announced(env.membersView(), partition);
  }

  private movingOwnerOut(partition: number): boolean {
    const r = this.live();
    const self = this.env?.self;
    if (r === undefined || r.coordinator.table().owner(partition) !== self) return false;
    return r.coordinator.migrations().some((m) => m.state !== 'finished' && m.partition === partition && m.role === 'owner' && m.destination !== self);
  }

  /** The merge handover (one per layer; it outlives the merge rebuilds). */
  private mergeHandover(env: ShardingEnv): MergeHandover {
    this.handover ??= new MergeHandover({
      self: env.self,
      participants: this.participants(),
      logger: env.logger,
      table: () => {
        const r = this.live();
        if (r === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'sharding layer is not running');
        return r.coordinator.table();
      },
      joined: () => env.membersView().members.some((m) => m.nodeId === env.self),
      receiving: (partition) => this.live()?.executor.isReceiving(partition) ?? false,
      call: (service, partition, payload) => this.route(service, partition, payload),
      request: (to, message, timeoutMs) => env.request(to, message, timeoutMs),
      flushSealed: (partition) => this.live()?.executor.flushSealed(partition) ?? Promise.resolve(),
      onPendingChanged: (partitions) => advertiseHandover(env, encodeHandoverTag(partitions, this.config.partitionCount)),
      addressOf: (id) => env.addressOf(id),
      now: () => env.timers.now(),
      sleep: (ms) => sleep(env.timers, ms),
      stopped: () => this.stopped,
    });
    return this.handover;
  }

  private onPartitionEvent(r: Running, event: PartitionEvent): void {
    tracePartitionEvent(this.env!.logger, event);
    if (event.type === 'LineageDiverged') this.leaveLineage(r, event);
    else r.executor.onEvent(event);
  }
}

/** Rounds of coordinator draining per turn; the executor's reactions rarely need a second. */
const DRAIN_ROUNDS_MAX = 8;

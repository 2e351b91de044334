/**
 * The partition service: hosts the partition coordinator, the migration executor, the
 * request router and the migration participants (the KV store first) as one
 * `NodeService`. It feeds the coordinator the master's members view and the partition
 * messages, relays what the coordinator sends, turns its events into data movement, and
 * serves the KV API through the routing client. `drain` hands this node's partitions to
 * the others before a graceful leave.
 */
import type { Millis } from '../core/clock.js';
import { FlotillaError } from '../core/errors.js';
import { HybridLogicalClock } from '../core/hlc.js';
import type { Channel } from '../core/machine.js';
import type { Address, PartitionTableData } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import type { MembershipEvent, MergeStarted } from '../membership/events.js';
import { resolveCoordinatorConfig, type CoordinatorConfig } from '../partitions/coordinator-config.js';
import type { PartitionEvent } from '../partitions/coordinator-events.js';
import { PartitionCoordinator, type CoordinatorStatus, type PartitionTableReader } from '../partitions/coordinator.js';
import type { MigrationRecord, MigrationTotals } from '../partitions/migration-history.js';
import { SERVICE_NAME_BYTES_MAX } from '../protocol/limits.js';
import type { Message, MessageType } from '../protocol/messages.js';
import { utf8ByteLength } from '../protocol/validate.js';
import { checkKey, decodeResult, decodeValue, encodeOp, encodeValue, type KvValue } from './kv-codec.js';
import { KvHandlers, type KvCounters } from './kv-handler.js';
import { KV_SERVICE, KvStore } from './kv-store.js';
import {
  resolveKvConfig,
  resolveMigrationConfig,
  resolveRoutingConfig,
  type KvConfig,
  type MigrationConfig,
  type RoutingConfig,
} from './migration-config.js';
import { MigrationExecutor, type ExecutorStatus } from './migration-executor.js';
import type { MigrationParticipant, ParticipantRole } from './participant.js';
import { PartitionDrain } from './migration-drain.js';
import { RequestRouter, RoutingClient, type PartitionHandler } from './routing.js';
import type { NodeContext, NodeService } from './service.js';
import { MergeHandover } from './split-brain-merge.js';

/** How to build a partition service. */
export interface PartitionServiceOptions {
  /** Partition layout and coordinator timings (overrides of `DEFAULT_COORDINATOR_CONFIG`). */
  readonly partitionConfig?: Partial<CoordinatorConfig>;
  /** Migration participants besides the built-in KV store (unique names; every node must host the same set). */
  readonly participants?: readonly MigrationParticipant[];
  /** Request handlers besides the built-in KV ones (e.g. entities), registered on the router (unique services). */
  readonly handlers?: readonly PartitionHandler[];
  readonly migration?: Partial<MigrationConfig>;
  readonly routing?: Partial<RoutingConfig>;
  readonly kv?: Partial<KvConfig>;
}

/** A snapshot for the admin API and tests. */
export interface PartitionServiceStatus {
  readonly coordinator: CoordinatorStatus;
  readonly executor: ExecutorStatus;
  readonly kv: Readonly<KvCounters> & { readonly localEntries: number };
}

const MESSAGE_TYPES: readonly MessageType[] = ['PartitionTableUpdate', 'FetchPartitionTable', 'MergedTable', 'MigrateStart', 'MigrateReady', 'MigrateFinalize', 'MigrateCancel'];
const REQUEST_TYPES: readonly MessageType[] = ['ServiceRequest', 'OpForward', 'MigrateData'];

/** Everything that exists once the service has started. */
interface Running {
  readonly ctx: NodeContext;
  readonly coordinator: PartitionCoordinator;
  readonly executor: MigrationExecutor;
  readonly router: RequestRouter;
  readonly client: RoutingClient;
  readonly kv: KvHandlers;
  readonly drain: PartitionDrain;
}

/** The partition service. */
export class PartitionService implements NodeService {
  readonly name = 'partitions';
  readonly messageTypes = MESSAGE_TYPES;
  readonly requestTypes = REQUEST_TYPES;
  /** The built-in KV store (also the first migration participant). */
  readonly store: KvStore;
  private readonly coordinatorConfig: CoordinatorConfig;
  private readonly migrationConfig: MigrationConfig;
  private readonly routingConfig: RoutingConfig;
  private readonly kvConfig: KvConfig;
  private readonly participants: readonly MigrationParticipant[];
  private readonly extraHandlers: readonly PartitionHandler[];
  private running: Running | undefined;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  /** Kept across merge resets, so versions this node hands out keep going up. */
  private hlc: HybridLogicalClock | undefined;
  private handover: MergeHandover | undefined;
  /** Pending sleeps: released at once by `stop`, so retry loops end promptly. */
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config or participant names. */
  constructor(options: PartitionServiceOptions = {}) {
    this.coordinatorConfig = resolveCoordinatorConfig(options.partitionConfig);
    this.migrationConfig = resolveMigrationConfig(options.migration);
    this.routingConfig = resolveRoutingConfig(options.routing);
    this.kvConfig = resolveKvConfig(options.kv);
    this.store = new KvStore({
      valueBytesMax: this.kvConfig.valueBytesMax,
      captureBytesMax: this.kvConfig.captureBytesMax,
      observeVersion: (v) => this.running?.kv.observe(v),
    });
    this.participants = [this.store, ...(options.participants ?? [])];
    this.extraHandlers = options.handlers ?? [];
    const names = new Set<string>();
    for (const p of this.participants) {
      const bytes = utf8ByteLength(p.name);
      if (bytes < 1 || bytes > SERVICE_NAME_BYTES_MAX || names.has(p.name)) {
        throw new FlotillaError('FLO_CONFIG_INVALID', `participant names must be unique, 1..${SERVICE_NAME_BYTES_MAX} bytes: ${p.name}`);
      }
      names.add(p.name);
    }
  }

  start(ctx: NodeContext): void {
    if (this.running !== undefined) return;
    this.running = this.build(ctx);
    const view = ctx.membersView();
    if (view.version > 0) this.running.coordinator.onMembersView(view, ctx.now());
    this.pump();
  }

  /** A fresh coordinator, executor, router and KV handlers over the kept store and clock. */
  private build(ctx: NodeContext, mergedFrom?: PartitionTableData): Running {
    const coordinator = new PartitionCoordinator({ self: ctx.nodeId, config: this.coordinatorConfig, now: ctx.now(), ...(mergedFrom === undefined ? {} : { mergedFrom }) });
    const table = (): PartitionTableReader => coordinator.table();
    const roleOf = (p: number): ParticipantRole => roleIn(coordinator.table(), p, ctx.nodeId);
    const request = (to: Address, message: Message, timeoutMs: number): Promise<Message> => ctx.request(to, message, timeoutMs);
    const observeTableVersion = (version: number): void => {
      coordinator.observeTableVersion(version, ctx.now());
      this.pump();
    };
    const executor = new MigrationExecutor({
      self: ctx.nodeId,
      participants: this.participants,
      config: this.migrationConfig,
      logger: ctx.logger,
      request,
      addressOf: (id) => ctx.addressOf(id),
      roleOf,
      ready: (id, lastSeq) => this.afterCoordinator(() => coordinator.localMigrationReady(id, lastSeq, ctx.now())),
      failed: (id, reason) => this.afterCoordinator(() => coordinator.localMigrationFailed(id, reason, ctx.now())),
      sleep: (ms) => this.sleep(ms),
    });
    const routingDeps = { self: ctx.nodeId, config: this.routingConfig, table, addressOf: (id: string) => ctx.addressOf(id), request };
    const router = new RequestRouter(routingDeps);
    const kv = new KvHandlers({
      self: ctx.nodeId,
      store: this.store,
      hlc: (this.hlc ??= new HybridLogicalClock(ctx.nodeId, { now: () => ctx.now() })),
      config: this.kvConfig,
      table,
      roleOf,
      addressOf: (id) => ctx.addressOf(id),
      request,
      flushSealed: (p) => executor.flushSealed(p),
      observeTableVersion,
    });
    router.register(kv.owner());
    router.register(kv.replica());
    for (const handler of this.extraHandlers) router.register(handler);
    for (const handler of this.mergeHandover(ctx).handlers()) router.register(handler);
    const client = new RoutingClient({
      ...routingDeps,
      local: (req) => router.serve(undefined, req),
      observeTableVersion,
      now: () => ctx.now(),
      sleep: (ms) => this.sleep(ms),
      stopped: () => this.stopped,
    });
    const drain = new PartitionDrain({ ctx, table, busy: () => executor.status().outgoing > 0 });
    return { ctx, coordinator, executor, router, client, kv, drain };
  }

  onMessage(from: Address, message: Message, _channel: Channel): void {
    const r = this.running;
    if (r === undefined || this.stopped) return;
    r.coordinator.handle(from, message, r.ctx.now());
    this.pump();
  }

  onRequest(from: Address, message: Message): Promise<Message> | Message {
    const r = this.running;
    if (r === undefined || this.stopped) throw new FlotillaError('FLO_NODE_STOPPED', 'partition service is not running');
    switch (message.type) {
      case 'ServiceRequest':
        return r.router.serve(from, message);
      case 'OpForward':
        return r.router.serveForward(from, message);
      case 'MigrateData':
        return r.executor.onData(from, message);
      default:
        throw new FlotillaError('FLO_INVALID_ARGUMENT', `partitions do not answer ${message.type}`);
    }
  }

  onMembershipEvent(event: MembershipEvent): void {
    const r = this.running;
    if (r !== undefined && !this.stopped && event.type === 'MergeStarted') return this.resetForMerge(r, event);
    if (r === undefined || this.stopped || event.type !== 'ViewChanged') return;
    r.coordinator.onMembersView(event.view, r.ctx.now());
    this.pump();
  }

  /**
   * This node leaves its cluster for the winner of a healed split: its partition state
   * starts over (a fresh coordinator takes the winner's view and table), and the data it
   * held is exported now and handed to the new owners once it has joined.
   */
  private resetForMerge(r: Running, event: MergeStarted): void {
    const { local, target } = event;
    const fields = { event: event.type, master: target.masterId, members: target.memberCount, previousMaster: local.masterId, previousMembers: local.memberCount };
    r.ctx.logger.warn(fields, `merging into cluster of ${target.masterId}: ${local.memberCount} members vs ${target.memberCount}`);
    const oldTable = r.coordinator.table().toData();
    r.executor.stop();
    r.drain.stop();
    this.running = this.build(r.ctx, oldTable);
    void this.mergeHandover(r.ctx).run(oldTable);
    this.pump();
  }

  /** The merge handover (one per service; it outlives the resets). */
  private mergeHandover(ctx: NodeContext): MergeHandover {
    this.handover ??= new MergeHandover({
      self: ctx.nodeId,
      participants: this.participants,
      logger: ctx.logger,
      table: () => this.requireRunning().coordinator.table(),
      joined: () => ctx.membersView().members.some((m) => m.nodeId === ctx.nodeId),
      call: (service, partition, payload) => this.requireRunning().client.call(service, partition, payload),
      request: (to, message, timeoutMs) => ctx.request(to, message, timeoutMs),
      addressOf: (id) => ctx.addressOf(id),
      now: () => ctx.now(),
      sleep: (ms) => this.sleep(ms),
      stopped: () => this.stopped,
    });
    return this.handover;
  }

  onTick(now: Millis): void {
    const r = this.running;
    if (r === undefined || this.stopped) return;
    const due = r.coordinator.nextDeadline();
    if (due !== undefined && now >= due) r.coordinator.tick(now);
    this.pump();
  }

  /** Hand every partition this node holds to the others (graceful leave); settles by `deadline`. */
  async drain(deadline: Millis): Promise<void> {
    const r = this.running;
    if (r === undefined || this.stopped) return;
    await r.drain.run(deadline);
  }

  stop(): void {
    this.stopped = true;
    this.running?.executor.stop();
    this.running?.drain.stop();
    for (const [timer, wake] of this.sleeps) {
      clearTimeout(timer);
      wake();
    }
    this.sleeps.clear();
  }

  // -------------------------------------------------------------------------------------
  // Queries
  // -------------------------------------------------------------------------------------

  /** The newest partition table this node has, or undefined before the first one. */
  table(): PartitionTableData | undefined {
    const table = this.running?.coordinator.table();
    return table === undefined || table.version === 0 ? undefined : table.toData();
  }

  /** Migrations in flight here (as master, source or destination), recently finished ones, and totals since start. */
  migrations(): { inFlight: MigrationRecord[]; recent: MigrationRecord[]; totals?: MigrationTotals } {
    const coordinator = this.running?.coordinator;
    const all = coordinator?.migrations() ?? [];
    const lists = { inFlight: all.filter((m) => m.state !== 'finished'), recent: all.filter((m) => m.state === 'finished') };
    return coordinator === undefined ? lists : { ...lists, totals: coordinator.migrationTotals() };
  }

  /** Coordinator, executor and KV counters. Throws FLO_NODE_STOPPED before `start`. */
  status(): PartitionServiceStatus {
    const r = this.requireRunning();
    return { coordinator: r.coordinator.status(), executor: r.executor.status(), kv: { ...r.kv.counters, localEntries: this.store.size() } };
  }

  // -------------------------------------------------------------------------------------
  // KV API (routed to each key's owner)
  // -------------------------------------------------------------------------------------

  /** Store `value` under `key`; resolves once the owner and every backup have it. */
  async kvPut(key: string, value: KvValue): Promise<void> {
    const bytes = encodeValue(value);
    if (bytes.byteLength > this.kvConfig.valueBytesMax) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `value of ${bytes.byteLength} bytes exceeds ${this.kvConfig.valueBytesMax}`);
    }
    await this.callKv(key, encodeOp({ op: 'put', key: checkKey(key), value: bytes }));
  }

  /** The value under `key`, or undefined. */
  async kvGet(key: string): Promise<KvValue | undefined> {
    const payload = await this.callKv(key, encodeOp({ op: 'get', key: checkKey(key) }));
    return payload === undefined ? undefined : decodeValue(payload);
  }

  /** Remove `key`; true when it was there. */
  async kvDelete(key: string): Promise<boolean> {
    return decodeResult(await this.callKv(key, encodeOp({ op: 'delete', key: checkKey(key) }))) === true;
  }

  /** Entries in the whole store: each partition counted at its owner. */
  async kvSize(): Promise<number> {
    const r = this.requireRunning();
    const count = this.coordinatorConfig.partitionCount;
    const payload = encodeOp({ op: 'size' });
    let total = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const p = next++;
        const n = decodeResult(await r.client.call(KV_SERVICE, p, payload));
        total += typeof n === 'number' ? n : 0;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.routingConfig.fanOutMax, count) }, worker));
    return total;
  }

  /**
   * Run `payload` through `service` on the owner of `partition` (routing, NOT_OWNER
   * retries and forwarding as for the KV API); resolves with the reply payload.
   */
  async call(service: string, partition: number, payload: Uint8Array, forward = false): Promise<Uint8Array | undefined> {
    return await this.requireRunning().client.call(service, partition, payload, forward);
  }

  /** The live partition table (cheap to read on every request), or undefined before `start`. */
  tableReader(): PartitionTableReader | undefined {
    return this.stopped ? undefined : this.running?.coordinator.table();
  }

  private callKv(key: string, payload: Uint8Array): Promise<Uint8Array | undefined> {
    const r = this.requireRunning();
    return r.client.call(KV_SERVICE, partitionOf(key, this.coordinatorConfig.partitionCount), payload);
  }

  // -------------------------------------------------------------------------------------
  // Plumbing
  // -------------------------------------------------------------------------------------

  private requireRunning(): Running {
    if (this.running === undefined || this.stopped) throw new FlotillaError('FLO_NODE_STOPPED', 'partition service is not running');
    return this.running;
  }

  /** Run a coordinator call from the executor, then relay its output. */
  private afterCoordinator(call: () => unknown): void {
    if (this.stopped) return;
    call();
    this.pump();
  }

  /** Relay the coordinator's transmits and events; re-entrant calls fold into the running one. */
  private pump(): void {
    const r = this.running;
    if (r === undefined || this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (let t = r.coordinator.pollTransmit(); t !== undefined; t = r.coordinator.pollTransmit()) r.ctx.send(t);
        for (let e = r.coordinator.pollEvent(); e !== undefined; e = r.coordinator.pollEvent()) this.onPartitionEvent(r, e);
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    const next = r.coordinator.nextDeadline();
    if (next !== undefined) r.ctx.wakeAt(next);
    r.drain.poke();
  }

  private onPartitionEvent(r: Running, event: PartitionEvent): void {
    switch (event.type) {
      case 'TableChanged':
        r.executor.onTableChanged(event);
        return;
      case 'MigrationStart':
        r.executor.onStart(event.migration, event.localRole);
        return;
      case 'MigrationFinalize':
        r.executor.onFinalize(event.migration, event.localRole);
        return;
      case 'MigrationCancel':
        r.executor.onCancel(event.migration, event.localRole);
        return;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.set(timer, resolve);
    });
  }
}

/** `self`'s role for `partition` in `table`. */
export function roleIn(table: PartitionTableReader, partition: number, self: string): ParticipantRole {
  if (table.owner(partition) === self) return 'owner';
  return table.backups(partition).includes(self) ? 'backup' : 'none';
}

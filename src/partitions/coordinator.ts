/**
 * The partition coordinator: the sans-IO machine that runs on every node and puts the
 * partition table to work. Every node keeps the newest table it has seen and fetches
 * newer ones from the master; the master (from the members view the driver feeds in)
 * fails over, rebalances and publishes; participants of a migration hear about it as
 * events and report back through `localMigrationReady` / `localMigrationFailed`. The data
 * itself moves outside, in the driver.
 */
import type { Millis } from '../core/clock.js';
import type { SansIoMachine, Transmit } from '../core/machine.js';
import type { Address, MembersViewData, NodeId, PartitionTableData } from '../core/model.js';
import type { FetchPartitionTable, Message, MigrateCancel, MigrateStart, PartitionTableUpdate } from '../protocol/messages.js';
import { resolveCoordinatorConfig, type CoordinatorConfig, type PartitionCoordinatorOptions } from './coordinator-config.js';
import { newCounters, type CoordinatorContext, type CoordinatorStatus } from './coordinator-context.js';
import type { PartitionEvent } from './coordinator-events.js';
import { MasterDuties } from './coordinator-master.js';
import { Loopback, type LoopbackItem } from './coordinator-loopback.js';
import { CoordinatorOutbox } from './coordinator-outbox.js';
import { MasterLink } from './coordinator-master-link.js';
import { MembersView } from './members-view.js';
import { MigrationHistory, type MigrationRecord, type MigrationTotals } from './migration-history.js';
import { MergedEpochs } from './merged-epochs.js';
import { EpochMemory } from './epoch-memory.js';
import { assert } from '../core/errors.js';
import { LocalMigrations } from './migration-local.js';
import { LocalTable, type PartitionTableReader } from './coordinator-table.js';
import type { ClusterPartitionTable } from './partition-table.js';

export type { CoordinatorStatus } from './coordinator-context.js';
export type { PartitionTableReader } from './coordinator-table.js';
export type { PartitionCoordinatorOptions } from './coordinator-config.js';

/** Reason sent when this node cannot take another migration. */
const LOCAL_FULL_REASON = 'too many local migrations';

/** One node's partition coordinator. */
export class PartitionCoordinator implements SansIoMachine<Message, PartitionEvent> {
  readonly config: CoordinatorConfig;
  private readonly self: NodeId;
  private readonly localTable: LocalTable;
  private readonly tableValue: ClusterPartitionTable;
  private viewValue = MembersView.empty();
  private viewSeen = false;
  private idByAddress = new Map<Address, NodeId>();
  private readonly link: MasterLink;
  private master: MasterDuties | undefined;
  private readonly history: MigrationHistory;
  private readonly local: LocalMigrations;
  private readonly counters = newCounters();
  private readonly transmits: CoordinatorOutbox<Transmit<Message>>;
  private readonly events: CoordinatorOutbox<PartitionEvent>;
  private readonly loopback: Loopback;
  private readonly ctx: CoordinatorContext;
  private readonly merged: MergedEpochs;
  /** Set once this node's table turned out to be of another lineage than its master's. */
  private diverged = false;

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config; FLO_ASSIGNMENT_INVALID on a bad starting table. */
  constructor(options: PartitionCoordinatorOptions) {
    this.config = resolveCoordinatorConfig(options.config);
    this.self = options.self;
    this.transmits = new CoordinatorOutbox(this.config.transmitsPendingMax);
    this.events = new CoordinatorOutbox(this.config.eventsPendingMax);
    this.loopback = new Loopback(this.config.partitionCount);
    const memory = options.epochMemory ?? new EpochMemory(this.config.partitionCount);
    assert(memory.partitionCount === this.config.partitionCount, 'epoch memory of another partition count');
    this.localTable = new LocalTable(this.self, this.config.partitionCount, this.counters, (event) => this.events.push(event), memory);
    this.tableValue = this.localTable.table;
    if (options.table !== undefined) this.localTable.load(options.table);
    this.merged = new MergedEpochs(this.self, options.mergedFrom);
    this.link = new MasterLink({ self: this.self, config: this.config, table: this.tableValue, merged: this.merged, loopback: this.loopback, send: (to, message) => this.send(to, message) });
    this.history = new MigrationHistory(this.config.migrationHistoryMax);
    this.local = new LocalMigrations(this.self, this.config.localMigrationsMax, this.history, this.config.migrationTimeoutMs + this.config.handoverTimeoutMs, this.config.tableRefreshIntervalMs);
    this.ctx = {
      self: this.self,
      config: this.config,
      table: this.tableValue,
      history: this.history,
      counters: this.counters,
      view: () => this.viewValue,
      send: (to, message) => this.send(to, message),
      changeTable: (apply, lineage) => this.localTable.change(apply, lineage),
      adoptTable: (data) => this.localTable.adopt(data),
      epochFloorOf: (partition) => memory.epochOf(partition),
    };
  }

  /**
   * The members view as this node knows it (the master's authoritative one). An older or
   * equal version is ignored. The master is `MembersView.master()` of it.
   * @throws FlotillaError FLO_INVALID_ARGUMENT on a malformed view.
   */
  onMembersView(view: MembersViewData | MembersView, now: Millis): void {
    const next = view instanceof MembersView ? view : new MembersView(view);
    if (this.viewSeen && next.version <= this.viewValue.version) {
      this.counters.staleViews++;
      return;
    }
    this.viewSeen = true;
    this.viewValue = next;
    this.idByAddress = new Map(next.members().map((m) => [m.address, m.nodeId]));
    const masterId = next.master()?.nodeId;
    if (masterId !== this.link.id) this.changeMaster(masterId, now);
    else this.master?.onViewChanged(now);
    this.afterInput(now);
  }

  /** Offer a table learned outside the protocol (a `JoinResponse`, storage); taken if newer. */
  adoptTable(data: PartitionTableData, now: Millis): boolean {
    const taken = this.localTable.adopt(data);
    this.afterInput(now);
    return taken;
  }

  /** Hear that some node has table `version` (a NOT_OWNER reply, a peer's hint): fetch soon if it is newer. */
  observeTableVersion(version: number, now: Millis): void {
    this.link.observeVersion(version, now);
  }

  /** A message from the node at `from` (its cluster address). */
  handle(from: Address, message: Message, now: Millis): void {
    this.receive(this.idByAddress.get(from), message, now);
    this.afterInput(now);
  }

  /** Timers: the periodic table fetch, the master's sync, timeouts and retries, orphan expiry, questions. */
  tick(now: Millis): void {
    this.master?.tick(now);
    this.link.tick(now);
    for (const event of this.local.expireOrphans(now)) this.events.push(event);
    for (const event of this.local.expireStale(now)) {
      this.events.push(event);
      this.link.toMaster({ type: 'MigrateCancel', migrationId: event.migration.migrationId, partition: event.migration.partition, reason: event.reason });
    }
    // A master that has not reached us in its current mastership would not know our ids.
    const asking = this.link.id === this.self || this.link.heard ? this.local.dueQueries(now) : [];
    for (const { info, state } of asking) this.link.toMaster({ type: 'MigrateQuery', migrationId: info.migrationId, partition: info.partition, ready: state === 'ready' });
    this.afterInput(now);
  }

  /** Earliest time `tick` has work. */
  nextDeadline(): Millis | undefined {
    const candidates = [this.master?.nextDeadline(), this.link.nextDeadline(), this.local.nextDeadline()];
    let next: Millis | undefined;
    for (const c of candidates) if (c !== undefined && (next === undefined || c < next)) next = c;
    return next;
  }

  pollTransmit(): Transmit<Message> | undefined {
    return this.transmits.shift();
  }

  pollEvent(): PartitionEvent | undefined {
    return this.events.shift();
  }

  /**
   * The driver has applied everything of incoming migration `migrationId` up to `lastSeq`:
   * the master hears `MigrateReady`. False (and nothing sent) when this node is not a
   * running destination of it.
   */
  localMigrationReady(migrationId: string, lastSeq: number, now: Millis): boolean {
    const local = this.local.markReady(migrationId, now);
    if (local === undefined) {
      this.counters.unknownMigrations++;
      return false;
    }
    this.link.toMaster({ type: 'MigrateReady', migrationId, partition: local.info.partition, lastSeq });
    this.afterInput(now);
    return true;
  }

  /** The driver's side of `migrationId` failed: the master hears `MigrateCancel` and retries later. */
  localMigrationFailed(migrationId: string, reason: string, now: Millis): boolean {
    const local = this.local.fail(migrationId, reason, now);
    if (local === undefined) {
      this.counters.unknownMigrations++;
      return false;
    }
    if (local.state !== 'orphaned') this.link.toMaster({ type: 'MigrateCancel', migrationId, partition: local.info.partition, reason });
    this.afterInput(now);
    return true;
  }

  /**
   * Whether the table this node routes by is its current master's: this node is the
   * master, or the master reached it (a table, or its handover fetch) since it became
   * this node's master. False in the window after a node follows another master (a heal,
   * a failover) and before it hears from it: its table may be another side's.
   */
  followsHeardMaster(): boolean {
    const master = this.link.id;
    return master !== undefined && (master === this.self || this.link.heard);
  }

  /** The newest table this node has (read-only; it changes as the coordinator runs). */
  table(): PartitionTableReader {
    return this.tableValue;
  }

  /** Migrations in flight here (as master, source or destination), then recently finished ones. */
  migrations(): MigrationRecord[] {
    return this.history.list();
  }

  /** Monotonic counts of the migrations this node started and finished, by perspective. */
  migrationTotals(): MigrationTotals {
    return this.history.totals();
  }

  /** The master this node follows (itself when master), if any. */
  masterId(): NodeId | undefined {
    return this.link.id;
  }

  /** True while this node is the master of its view. */
  isMaster(): boolean {
    return this.master !== undefined;
  }

  /** A snapshot for the admin API. */
  status(): CoordinatorStatus {
    const progress = this.master?.progress();
    return {
      self: this.self,
      masterId: this.link.id,
      isMaster: this.master !== undefined,
      phase: this.master?.phase,
      viewVersion: this.viewValue.version,
      tableVersion: this.tableValue.version,
      pendingPartitions: progress?.pendingPartitions ?? 0,
      parkedPartitions: progress?.parkedPartitions ?? [],
      migrationsInFlight: progress?.migrationsInFlight ?? 0,
      localMigrations: this.local.size,
      transmitsDropped: this.transmits.dropped,
      eventsDropped: this.events.dropped,
      counters: { ...this.counters },
    };
  }

  private changeMaster(masterId: NodeId | undefined, now: Millis): void {
    this.link.follow(masterId, now);
    // Orphans wait for the new master's first table: its sync, then its announcement.
    this.local.orphanAll(now + this.config.handoverTimeoutMs + this.config.tableRefreshIntervalMs);
    if (this.master !== undefined) {
      this.master.abandon(now);
      this.master = undefined;
    }
    if (masterId === this.self) this.master = new MasterDuties(this.ctx, now);
  }

  private receive(fromId: NodeId | undefined, message: Message, now: Millis): void {
    switch (message.type) {
      case 'PartitionTableUpdate':
        return this.onTableUpdate(fromId, message, now);
      case 'FetchPartitionTable':
        return this.onFetch(fromId, message, now);
      case 'MigrateStart':
        return this.onMigrateStart(fromId, message, now);
      case 'MigrateReady':
        if (this.master === undefined || fromId === undefined) this.counters.notFromMaster++;
        else this.master.onReady(fromId, message, now);
        return;
      case 'MigrateFinalize':
        if (!this.link.isCurrent(fromId)) this.counters.notFromMaster++;
        else this.emitOrCount(this.local.finalize(message.migrationId, message.epoch, now));
        return;
      case 'MigrateCancel':
        return this.onMigrateCancel(fromId, message, now);
      case 'MigrateQuery':
        if (this.master === undefined || fromId === undefined) this.counters.notFromMaster++;
        else this.master.onQuery(fromId, message, now);
        return;
      case 'MigrateStatus':
        if (!this.link.isCurrent(fromId) || this.diverged) {
          this.counters.notFromMaster++;
          return;
        }
        for (const event of this.local.onStatus(message, this.tableValue, now)) this.events.push(event);
        // Behind the table the answer refers to: fetch it, and settle when it comes.
        return this.observeTableVersion(message.tableVersion, now);
      case 'MergedTable':
        if (this.master === undefined || fromId === undefined) this.counters.notFromMaster++;
        else this.master.onMergedTable(fromId, message.table, now);
        return;
      default:
        this.counters.ignored++;
    }
  }

  private onTableUpdate(fromId: NodeId | undefined, msg: PartitionTableUpdate, now: Millis): void {
    if (fromId !== undefined && fromId === this.link.id && fromId !== this.self) {
      if (this.diverged) return;
      const first = !this.link.heard;
      this.link.markHeard();
      if (!this.localTable.adopt(msg.table) && this.localTable.diverges(msg.table)) {
        this.diverged = true;
        this.events.push({ type: 'LineageDiverged', master: fromId, masterTableVersion: msg.table.version, table: this.tableValue.toData() });
        return;
      }
      // A merged node reports its old table as soon as it holds the winner's.
      const report = first ? this.merged.report(this.tableValue) : undefined;
      if (report !== undefined) this.send(fromId, report);
      for (const event of this.local.completed(msg.completedMigrations, this.tableValue, now)) this.events.push(event);
      for (const event of this.local.settleCommitted(this.tableValue, now)) this.events.push(event);
      for (const event of this.local.settleAnswered(this.tableValue, now)) this.events.push(event);
      for (const event of this.local.resolveOrphans(this.tableValue, now)) this.events.push(event);
      return;
    }
    if (fromId !== undefined && fromId !== this.self && this.master?.onMemberTable(msg.table) === true) return;
    this.counters.notFromMaster++;
  }

  private onFetch(fromId: NodeId | undefined, msg: FetchPartitionTable, now: Millis): void {
    if (fromId === undefined || fromId === this.self) {
      this.counters.notFromMaster++;
    } else if (this.master !== undefined) {
      this.master.onFetch(fromId, msg.knownVersion, now);
    } else if (fromId === this.link.id) {
      this.link.answerSync(msg.knownVersion, now);
    } else {
      this.counters.notFromMaster++;
    }
  }

  private onMigrateStart(fromId: NodeId | undefined, msg: MigrateStart, now: Millis): void {
    if (!this.link.isCurrent(fromId)) {
      this.counters.notFromMaster++;
      this.link.refuseUnheard(fromId, msg, now);
      return;
    }
    this.observeTableVersion(msg.tableVersion, now);
    const started = this.local.start(msg, now);
    if (started === 'full') {
      this.counters.localRefused++;
      this.link.toMaster({ type: 'MigrateCancel', migrationId: msg.migrationId, partition: msg.partition, reason: LOCAL_FULL_REASON });
    } else if (started === 'not-participant') {
      this.counters.unknownMigrations++;
    } else if (started !== 'duplicate') {
      this.events.push(started);
    }
  }

  private onMigrateCancel(fromId: NodeId | undefined, msg: MigrateCancel, now: Millis): void {
    if (this.link.isCurrent(fromId)) {
      this.emitOrCount(this.local.cancel(msg.migrationId, msg.reason, now));
    } else if (fromId !== undefined && this.master !== undefined) {
      this.master.onCancel(fromId, msg, now);
    } else {
      this.counters.notFromMaster++;
    }
  }

  private emitOrCount(event: PartitionEvent | undefined): void {
    if (event === undefined) this.counters.unknownMigrations++;
    else this.events.push(event);
  }

  private send(to: NodeId, message: Message): void {
    if (to === this.self) {
      this.loopback.push(message, false);
      return;
    }
    const address = this.viewValue.member(to)?.address;
    if (address === undefined) {
      this.counters.unroutable++;
      return;
    }
    this.transmits.push({ to: address, channel: 'tcp', message });
  }

  /**
   * Settle orphans once this node is an acting master (before its own new migrations
   * reach it, so they do not compete for local slots), then deliver what it sent itself.
   */
  private afterInput(now: Millis): void {
    if (this.master?.phase === 'active' && this.local.hasOrphans()) {
      for (const event of this.local.resolveOrphans(this.tableValue, now)) this.events.push(event);
    }
    if (this.master?.phase === 'active') {
      const old = this.merged.uncovered(this.tableValue);
      if (old !== undefined) this.master.onMergedTable(undefined, old, now);
    }
    this.loopback.drain((item) => this.deliverLocal(item, now));
  }

  private deliverLocal(item: LoopbackItem, now: Millis): void {
    const { message } = item;
    if (!item.toMaster) {
      this.receive(this.self, message, now);
    } else if (this.master === undefined) {
      this.counters.notFromMaster++;
    } else if (message.type === 'MigrateReady') {
      this.master.onReady(this.self, message, now);
    } else if (message.type === 'MigrateCancel') {
      this.master.onCancel(this.self, message, now);
    } else if (message.type === 'MigrateQuery') {
      this.master.onQuery(this.self, message, now);
    }
  }
}

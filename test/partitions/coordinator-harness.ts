// An in-process cluster of partition coordinators under virtual time: a members view the
// test edits (join, leave, crash), per-link FIFO message delivery with a chosen delay, and
// a fake driver per node that answers MigrationStart with localMigrationReady after a
// chosen copy time. It records every table version a master published, for invariants.
import type { Millis } from '../../src/core/clock.js';
import type { MemberRecord, MemberStatus, NodeId, PartitionTableData } from '../../src/core/model.js';
import type { Message, MigrateStart } from '../../src/protocol/messages.js';
import {
  MembersView,
  PartitionCoordinator,
  type CoordinatorConfig,
  type MigrationInfo,
  type PartitionEvent,
} from '../../src/partitions/index.js';

/** Harness settings. */
export interface HarnessOptions {
  readonly partitionCount?: number;
  readonly backupCount?: number;
  readonly config?: Partial<CoordinatorConfig>;
  /** Network delay of one message. Default 1 ms. */
  readonly delayMs?: (from: NodeId, to: NodeId, message: Message) => number;
  /** Record published and held tables for the invariant checks. Default true; benchmarks turn it off. */
  readonly record?: boolean;
  /** Lose this message. Default: lose nothing. */
  readonly drop?: (from: NodeId, to: NodeId, message: Message) => boolean;
  /** Copy time of one migration at its destination, or undefined to never answer. Default 10 ms. */
  readonly copyMs?: (info: MigrationInfo, destination: NodeId) => number | undefined;
}

/** One table version as a master published it. */
export interface PublishedTable {
  readonly table: PartitionTableData;
  readonly completedMigrations: readonly string[];
  readonly publisher: NodeId;
  readonly at: Millis;
  /** Nodes up and not dead in the view when it was published. */
  readonly live: ReadonlySet<NodeId>;
}

/** A node of the harness. */
export interface HarnessNode {
  readonly id: NodeId;
  readonly address: string;
  readonly coordinator: PartitionCoordinator;
  up: boolean;
  readonly events: { at: Millis; event: PartitionEvent }[];
  /** Incoming migrations the fake driver is copying. */
  readonly copying: Set<string>;
  /** Outgoing migrations the fake driver is streaming. */
  readonly sourcing: Set<string>;
  /** Migrations the fake driver has a stream open for (either end, copying or not). */
  readonly open: Set<string>;
}

interface Scheduled {
  readonly at: Millis;
  readonly seq: number;
  readonly run: () => void;
  /** A driver's stream check: only acts on open migrations, so quiescence ignores it. */
  readonly background: boolean;
}

/** Virtual-time bound of `settle`, far above any test's needs. */
const SETTLE_MS_MAX = 24 * 3600_000;
/** Time for a driver to notice that the other end of a migration's stream is gone. */
const STREAM_CHECK_MS = 50;
/** Steps at one instant after which the harness declares a livelock. */
const STALLS_MAX = 100_000;

/** The harness. */
export class CoordinatorHarness {
  now: Millis = 0;
  view = MembersView.empty();
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** Published tables by version (see `recordTable` for which publish of a version is kept). */
  readonly published = new Map<number, PublishedTable>();
  /** Versions two nodes held with different content. */
  readonly conflicts: string[] = [];
  /** Every MigrateStart a master sent, by id. */
  readonly starts = new Map<string, MigrateStart>();
  /** Every message delivered, in order. */
  readonly delivered: { at: Millis; from: NodeId; to: NodeId; message: Message }[] = [];
  private readonly byAddress = new Map<string, NodeId>();
  private queue: Scheduled[] = [];
  private seq = 0;
  private stalls = 0;
  /** Per table version, what each node that held it held (as JSON). */
  private readonly held = new Map<number, Map<NodeId, string>>();
  /** The last table version seen held by each node. */
  private readonly snapshotVersion = new Map<NodeId, number>();
  private readonly linkClock = new Map<string, Millis>();

  constructor(private readonly options: HarnessOptions = {}) {}

  /**
   * Admit a node (next join version) and deliver the new view to everyone. Like a
   * `JoinResponse`, admission hands the joiner the master's current table.
   */
  join(id: NodeId, tags: Record<string, string> = {}, mergedFrom?: PartitionTableData): HarnessNode {
    const node = this.create(id, mergedFrom);
    const masterId = this.view.master()?.nodeId;
    if (masterId !== undefined && this.node(masterId).up) node.coordinator.adoptTable(this.coordinator(masterId).table().toData(), this.now);
    this.setView(this.view.withMember(this.recordOf(node, tags)));
    return node;
  }

  /** Form a cluster of `ids` at once: one view listing them all, delivered to each. */
  start(ids: readonly NodeId[]): void {
    const records = ids.map((id) => this.recordOf(this.create(id), {}, this.view.nextJoinVersion()));
    this.setView(new MembersView({ version: this.view.version + 1, members: [...this.view.members(), ...records] }));
  }

  private recordOf(node: HarnessNode, tags: Record<string, string>, joinVersion = this.view.nextJoinVersion()): MemberRecord {
    return { nodeId: node.id, address: node.address, joinVersion, status: 'active', incarnation: 1, tags };
  }

  private create(id: NodeId, mergedFrom?: PartitionTableData): HarnessNode {
    const address = `${id}:7000`;
    const coordinator = new PartitionCoordinator({
      self: id,
      now: this.now,
      ...(mergedFrom === undefined ? {} : { mergedFrom }),
      config: { partitionCount: this.options.partitionCount ?? 271, backupCount: this.options.backupCount ?? 1, ...this.options.config },
    });
    const node: HarnessNode = { id, address, coordinator, up: true, events: [], copying: new Set(), sourcing: new Set(), open: new Set() };
    this.nodes.set(id, node);
    this.byAddress.set(address, id);
    return node;
  }

  /** The node crashes: it stops, and the view drops it. */
  crash(id: NodeId): void {
    this.node(id).up = false;
    this.setView(this.view.without(id));
  }

  /** Change a member's status in the view (e.g. `leaving`, `suspect`). */
  setStatus(id: NodeId, status: MemberStatus): void {
    this.setView(this.view.withStatus(id, status));
  }

  /** Remove a member from the view while it keeps running. */
  remove(id: NodeId): void {
    this.setView(this.view.without(id));
  }

  /** Publish `view` to every running node at once. */
  setView(view: MembersView): void {
    this.view = view;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      node.coordinator.onMembersView(view, this.now);
      this.pump(node);
    }
  }

  /** Carry out what a node queued after a test called it directly. */
  flush(id: NodeId): void {
    this.pump(this.node(id));
  }

  node(id: NodeId): HarnessNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  coordinator(id: NodeId): PartitionCoordinator {
    return this.node(id).coordinator;
  }

  /** The master of the current view. */
  masterNode(): HarnessNode {
    const id = this.view.master()?.nodeId;
    if (id === undefined) throw new Error('no master');
    return this.node(id);
  }

  /** Running nodes listed (not dead) in the view. */
  liveNodes(): HarnessNode[] {
    return [...this.nodes.values()].filter((n) => n.up && this.view.member(n.id) !== undefined && this.view.member(n.id)!.status !== 'dead');
  }

  /** Run until virtual time `until`. */
  runUntil(until: Millis): void {
    for (;;) {
      const next = this.nextTime();
      if (next === undefined || next > until) break;
      this.step(next);
    }
    this.stalls = 0;
    this.now = Math.max(this.now, until);
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Run until `done()` holds; throws after `maxMs` of virtual time. */
  runUntilTrue(done: () => boolean, maxMs: number = SETTLE_MS_MAX): void {
    const limit = this.now + maxMs;
    while (!done()) {
      const next = this.nextTime();
      if (next === undefined || next > limit) throw new Error(`condition not reached by t=${limit} (now ${this.now})`);
      this.step(next);
    }
  }

  /** Run until quiescent: nothing in flight, the master idle, every live node on its version. */
  settle(maxMs: number = SETTLE_MS_MAX): void {
    this.runUntilTrue(() => this.quiescent(), maxMs);
  }

  /** Nothing in flight, the master active and idle, and every live node on the master's table version. */
  quiescent(): boolean {
    if (this.queue.some((item) => !item.background)) return false;
    const master = this.view.master();
    if (master === undefined) return true;
    const status = this.node(master.nodeId).coordinator.status();
    if (status.phase !== 'active' || status.pendingPartitions > 0 || status.migrationsInFlight > 0) return false;
    return this.liveNodes().every((n) => n.coordinator.table().version === status.tableVersion && n.coordinator.status().localMigrations === 0);
  }

  /** Events of one node of a given type. */
  eventsOf<T extends PartitionEvent['type']>(id: NodeId, type: T): Extract<PartitionEvent, { type: T }>[] {
    return this.node(id)
      .events.map((e) => e.event)
      .filter((e): e is Extract<PartitionEvent, { type: T }> => e.type === type);
  }

  private nextTime(): Millis | undefined {
    let next = this.queue[0]?.at;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const d = node.coordinator.nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next === undefined ? undefined : Math.max(next, this.now);
  }

  private step(at: Millis): void {
    // A deadline that stays in the past would spin here forever: a machine bug.
    this.stalls = at === this.now ? this.stalls + 1 : 0;
    if (this.stalls > STALLS_MAX) throw new Error(`no progress at t=${at}`);
    this.now = at;
    while (this.queue.length > 0 && this.queue[0]!.at <= at) this.queue.shift()!.run();
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const d = node.coordinator.nextDeadline();
      if (d !== undefined && d <= at) {
        node.coordinator.tick(at);
        this.pump(node);
      }
    }
  }

  private schedule(at: Millis, run: () => void, background = false): void {
    const item: Scheduled = { at, seq: this.seq++, run, background };
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.at > at || (this.queue[i - 1]!.at === at && this.queue[i - 1]!.seq > item.seq))) i--;
    this.queue.splice(i, 0, item);
  }

  /** Drain a node's transmits into the network and its events into its fake driver. */
  private pump(node: HarnessNode): void {
    const c = node.coordinator;
    for (let t = c.pollTransmit(); t !== undefined; t = c.pollTransmit()) {
      const to = this.byAddress.get(t.to);
      if (to === undefined) continue;
      if (this.options.record !== false) this.record(node.id, t.message);
      if (this.options.drop?.(node.id, to, t.message) === true) continue;
      const link = `${node.id}>${to}`;
      const at = Math.max(this.now + (this.options.delayMs?.(node.id, to, t.message) ?? 1), this.linkClock.get(link) ?? 0);
      this.linkClock.set(link, at);
      const message = t.message;
      this.schedule(at, () => this.deliver(node, to, message));
    }
    if (this.options.record !== false && this.snapshotVersion.get(node.id) !== c.table().version) {
      this.snapshotVersion.set(node.id, c.table().version);
      const data = c.table().toData();
      this.recordHeld(node.id, data);
      if (c.isMaster()) this.recordTable(node.id, data, []);
    }
    for (let e = c.pollEvent(); e !== undefined; e = c.pollEvent()) this.drive(node, e);
  }

  private deliver(from: HarnessNode, to: NodeId, message: Message): void {
    const target = this.nodes.get(to);
    if (target === undefined || !target.up) return;
    this.delivered.push({ at: this.now, from: from.id, to, message });
    target.coordinator.handle(from.address, message, this.now);
    this.pump(target);
  }

  /**
   * The fake driver. Besides copying, it models the data stream between the two ends of
   * a migration: when one end lets go (cancel, failure) or never took the migration, the
   * other end's stream breaks and its driver reports `localMigrationFailed`.
   */
  private drive(node: HarnessNode, event: PartitionEvent): void {
    node.events.push({ at: this.now, event });
    if (event.type === 'MigrationStart') {
      const { migrationId: id, source, destination } = event.migration;
      node.open.add(id);
      const peer = event.localRole === 'source' ? destination : source;
      this.schedule(this.now + STREAM_CHECK_MS, () => this.checkStream(node, peer, id), true);
      if (event.localRole === 'source') {
        node.sourcing.add(id);
        return;
      }
      node.copying.add(id);
      const copy = this.options.copyMs === undefined ? 10 : this.options.copyMs(event.migration, node.id);
      if (copy === undefined) return;
      this.schedule(this.now + copy, () => {
        if (!node.up || !node.copying.delete(id)) return;
        node.coordinator.localMigrationReady(id, 0, this.now);
        this.pump(node);
      });
    } else if (event.type === 'MigrationCancel' || event.type === 'MigrationFinalize') {
      const id = event.migration.migrationId;
      node.copying.delete(id);
      node.sourcing.delete(id);
      node.open.delete(id);
      if (event.type === 'MigrationCancel') {
        const peer = event.localRole === 'source' ? event.migration.destination : event.migration.source;
        this.schedule(this.now + STREAM_CHECK_MS, () => this.checkStream(this.node(peer), node.id, id), true);
      }
    }
  }

  /**
   * `node`'s stream for `id` breaks if `peer` is down or does not run `id`; a destination
   * that has everything (reported ready) no longer needs it.
   */
  private checkStream(node: HarnessNode, peer: NodeId, id: string): void {
    if (!node.up || !node.open.has(id) || !(node.copying.has(id) || node.sourcing.has(id))) return;
    const other = this.nodes.get(peer);
    if (other !== undefined && other.up && other.open.has(id)) return;
    node.open.delete(id);
    node.copying.delete(id);
    node.sourcing.delete(id);
    node.coordinator.localMigrationFailed(id, 'stream closed', this.now);
    this.pump(node);
  }

  private record(from: NodeId, message: Message): void {
    if (message.type === 'MigrateStart') this.starts.set(message.migrationId, message);
    if (message.type === 'PartitionTableUpdate' && this.view.master()?.nodeId === from) {
      this.recordTable(from, message.table, message.completedMigrations);
    }
  }

  /**
   * Two live nodes holding different tables under one version is a conflict. A table only
   * a crashed node held (a master that died before its publish arrived) conflicts with
   * nothing: it died with that node.
   */
  private recordHeld(id: NodeId, table: PartitionTableData): void {
    if (table.version === 0) return;
    const json = JSON.stringify(table);
    let holders = this.held.get(table.version);
    if (holders === undefined) {
      holders = new Map();
      this.held.set(table.version, holders);
    }
    for (const [other, otherJson] of holders) {
      if (other !== id && otherJson !== json && this.isLive(other)) this.conflicts.push(`version ${table.version}: ${other} and ${id} hold different tables`);
    }
    holders.set(id, json);
  }

  private isLive(id: NodeId): boolean {
    const member = this.view.member(id);
    return this.nodes.get(id)?.up === true && member !== undefined && member.status !== 'dead';
  }

  /** The first publish of a version is kept, unless its publisher died and a new master published that version again. */
  private recordTable(publisher: NodeId, table: PartitionTableData, completedMigrations: readonly string[]): void {
    const seen = this.published.get(table.version);
    if (table.version === 0 || (seen !== undefined && (seen.publisher === publisher || this.isLive(seen.publisher)))) return;
    const live = new Set(this.liveNodes().map((n) => n.id));
    this.published.set(table.version, { table, completedMigrations, publisher, at: this.now, live });
  }
}

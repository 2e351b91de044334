/**
 * The cluster's map store as a partitioned service: named LWW maps per partition held by
 * the owner and its backups, registered with the sharding layer (handlers for the owner
 * and the backups, the store as migration participant), the API that routes each
 * operation to its key's owner (`getMap`, and the default map behind `kvPut`...), and
 * the periodic collection of old tombstones.
 */
import { FlotillaError } from '../core/errors.js';
import { HybridLogicalClock } from '../core/hlc.js';
import { partitionOf } from '../core/partition.js';
import type { TimerHandle } from '../core/timers.js';
import type { MigrationParticipant } from '../sharding/participant.js';
import type { PartitionedService, PartitionHandler, RouteOptions, ShardContext } from '../sharding/service.js';
import { compareVersions, DEFAULT_MAP, mapOfChange, versionOfChange, type KvChange, type KvValue } from './kv-codec.js';
import { resolveKvConfig, type KvConfig } from './kv-config.js';
import { KvHandlers, KV_REPLICA_SERVICE, type KvCounters } from './kv-handler.js';
import { KV_SERVICE, KvStore } from './kv-store.js';
import { replayChanges, type ChangeMark, type Replay, type ReplayFilter } from './change-replay.js';
import { GridMap, type ChangeListener, type MapRouter } from './grid-map.js';
import { GridOrMap } from './grid-or-map.js';
import { checkMergePolicies, type MergePolicies } from './merge-policy.js';
import { decodeEntriesPage, decodeResult, decodeWriteAnswer, KvCall, type KvOp } from './map-ops.js';
import { KV_WATCH_SERVICE, WatchHandler } from './watch-handler.js';
import { WatchRelay, type LocalReplay, type RelayHandle, type RelaySink } from './watch-relay.js';
import { WHOLE } from './watch-codec.js';
import { asQueryChange } from './query-changes.js';
import { compileFilter, parseFilter, type FilterPredicate } from '../protocol/query-filter.js';

/** Partitions asked at once by whole-map scans (size, entries). */
export const KV_SIZE_FAN_OUT_MAX = 32;

/** Map counters with the entries and tombstones held here. */
export type KvStatus = Readonly<KvCounters> & { readonly localEntries: number; readonly localTombstones: number; readonly tombstonesCollected: number };

/** The subscription relay as seen from one node: its owner side (`kv.watch`) and its relays. */
export interface KvWatchStats {
  /** Long polls parked here now, and the bytes of their requests. */
  readonly parked: number;
  readonly parkedBytes: number;
  /** Long polls answered here (at once or after being parked). */
  readonly answered: number;
  /** Long polls answered at once, busy, because the parked bound was reached. */
  readonly busy: number;
  /** Relays this node runs now (one per relayed subscription). */
  readonly relays: number;
  /** Changes this node's relays handed to their subscriptions. */
  readonly relayedChanges: number;
}

/** The map store of one node. */
export class KvService implements PartitionedService, MapRouter {
  readonly name = KV_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: MigrationParticipant;
  /** The partitions' maps held on this node (owned and backed up). */
  readonly store: KvStore;
  readonly config: KvConfig;
  private ctx: ShardContext | undefined;
  private kv: KvHandlers | undefined;
  private built: { owner: PartitionHandler; replica: PartitionHandler; watch: WatchHandler } | undefined;
  private readonly defaultMap: GridMap;
  private gcTimer: TimerHandle | undefined;
  private readonly changeListeners = new Set<ChangeListener>();
  private tombstonesCollected = 0;
  private watch: WatchHandler | undefined;
  private readonly relays = new Set<RelayHandle>();
  private relayedChanges = 0;

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config or merge policy. */
  constructor(config: Partial<KvConfig> = {}, mergePolicies: MergePolicies = {}) {
    this.config = resolveKvConfig(config);
    this.store = new KvStore({
      valueBytesMax: this.config.valueBytesMax,
      captureBytesMax: this.config.captureBytesMax,
      observeVersion: (v) => this.kv?.observe(v),
      mergePolicies: checkMergePolicies(mergePolicies),
      mergeStamp: () => this.kv?.stamp(),
      // Only an owner reports: it is where subscribers' events and marks come from.
      onMerged: (partition, changes, stamp) => {
        if (this.ctx?.roleOf(partition) === 'owner') this.kv?.merged(partition, changes, stamp);
      },
    });
    this.participant = this.store;
    this.defaultMap = new GridMap(DEFAULT_MAP, this);
    this.handlers = [
      {
        service: KV_SERVICE,
        ownerOnly: true,
        isWrite: (r) => this.running().owner.isWrite!(r),
        handle: (r, from) => this.running().owner.handle(r, from),
        handleLocal: (p, call) => this.running().owner.handleLocal!(p, call),
      },
      { service: KV_REPLICA_SERVICE, ownerOnly: false, isWrite: () => false, handle: (r, from) => this.running().replica.handle(r, from) },
      { service: KV_WATCH_SERVICE, ownerOnly: false, isWrite: () => false, handle: (r) => this.running().watch.poll(r.payload) },
    ];
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    // One clock for the node's life: versions this node hands out keep going up across merges.
    const hlc = new HybridLogicalClock(ctx.self, { now: () => ctx.timers.now() });
    this.kv = new KvHandlers({ ...ctx, store: this.store, hlc, config: this.config, onChange: (change, mark) => this.emit(change, mark) });
    this.watch = new WatchHandler({ store: this.store, timers: ctx.timers, roleOf: (p) => ctx.roleOf(p), markOf: (p) => this.kv?.markOf(p, this.store.newestMillisBound(p)), stopped: () => ctx.stopped() });
    this.built = { owner: this.kv.owner(), replica: this.kv.replica(), watch: this.watch };
    this.scheduleGc();
  }

  stop(): void {
    this.gcTimer?.cancel();
    this.gcTimer = undefined;
    this.watch?.stop();
    // Their loops end with the context; the handles their owners still hold stop nothing more.
    this.relays.clear();
  }

  /**
   * Calls `listener` with each write this node acknowledges as the key's owner, and each
   * change a split-brain merge stores here as owner (not replicas or migrations). Returns
   * the unsubscribe function.
   */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * The changes of `filter` above `since` held here (as owner or backup), and the marks of
   * the partitions owned here (see change-replay.ts). Synchronous, so nothing changes
   * between the replay and the live events that follow it.
   */
  replay(filter: ReplayFilter, since: ReadonlyMap<number, number> | null): Replay {
    const ctx = this.requireCtx();
    const held = this.store.heldPartitions().filter((p) => ctx.roleOf(p) !== 'none');
    const owned: number[] = [];
    for (let p = 0; p < ctx.table().partitionCount; p++) if (ctx.roleOf(p) === 'owner') owned.push(p);
    return replayChanges({ store: this.store, held, owns: (p) => ctx.roleOf(p) === 'owner', owned, markOf: (p) => this.kv?.markOf(p, this.store.newestMillis(p)), epochOf: (p) => ctx.table().epoch(p) }, filter, since);
  }

  /**
   * Relay `filter`'s changes of `partitions` (owned elsewhere) from their owners to `sink`,
   * from the cursor `since` (see watch-relay.ts), until the handle is stopped; a live
   * query's `filter` travels with each poll. `caughtUpWithinMs`: the longest wait for the
   * sink's `caughtUp`.
   */
  relay(filter: ReplayFilter & { readonly filter?: unknown }, partitions: readonly number[], since: ReadonlyMap<number, number> | null, sink: RelaySink, caughtUpWithinMs?: number): RelayHandle {
    const ctx = this.requireCtx();
    const caughtUp = sink.caughtUp?.bind(sink);
    const adopted = sink.adopted?.bind(sink);
    const counted: RelaySink = {
      changes: (partition, changes, mark) => {
        this.relayedChanges += changes.length;
        sink.changes(partition, changes, mark);
      },
      lost: (partition) => sink.lost(partition),
      ready: () => sink.ready(),
      ...(caughtUp === undefined ? {} : { caughtUp }),
      ...(adopted === undefined ? {} : { adopted }),
    };
    const predicate = filter.filter === undefined ? undefined : compileFilter(parseFilter(filter.filter));
    const replayHere = (partition: number, cursor: number): LocalReplay | undefined => this.replayHere(filter, predicate, partition, cursor);
    const relay = new WatchRelay({ ...pick(ctx), valueBytesMax: this.config.valueBytesMax, replayHere }, filter, partitions, since, counted).start(caughtUpWithinMs);
    const handle: RelayHandle = {
      stop: () => {
        this.relays.delete(handle);
        relay.stop();
      },
      cursorOf: (p) => relay.cursorOf(p),
      caughtUpWith: (p) => relay.caughtUpWith(p),
    };
    this.relays.add(handle);
    return handle;
  }

  /**
   * A relayed partition that moved here, read from this store above the relay's cursor
   * (as a live query sees each change, when `predicate` is given): what a `kv.watch`
   * owner would answer, unbounded, since it goes to a connection of this node.
   */
  private replayHere(filter: ReplayFilter, predicate: FilterPredicate | undefined, partition: number, cursor: number): LocalReplay | undefined {
    const ctx = this.ctx;
    if (ctx === undefined || ctx.stopped() || ctx.roleOf(partition) !== 'owner') return undefined;
    const replay = replayChanges(
      { store: this.store, held: [partition], owns: () => true, owned: [partition], markOf: (p) => this.kv?.markOf(p, this.store.newestMillis(p)), epochOf: (p) => ctx.table().epoch(p) },
      filter,
      new Map([[partition, cursor]]),
    );
    const sorted = replay.changes.map((c) => c.change).sort((a, b) => compareVersions(versionOfChange(a), versionOfChange(b)));
    // A partition asked whole has only matches to send, as the owner's answer (watch-handler.ts).
    const changes = predicate === undefined ? sorted : sorted.map((c) => asQueryChange(predicate, c)).filter((c) => c.kind === 'put' || cursor !== WHOLE);
    return { changes, mark: replay.marks[0]?.millis, epoch: ctx.table().epoch(partition), lost: replay.lost.length > 0 };
  }

  /** Long polls parked here now (`kv.watch`). */
  parkedWatches(): number {
    return this.watch?.parkedCount() ?? 0;
  }

  /** The relay's numbers on this node (exported as `flotilla_watch_*` metrics). */
  watchStats(): KvWatchStats {
    const counters = this.watch?.counters;
    return {
      parked: this.watch?.parkedCount() ?? 0,
      parkedBytes: this.watch?.parkedByteCount() ?? 0,
      answered: counters?.answered ?? 0,
      busy: counters?.busy ?? 0,
      relays: this.relays.size,
      relayedChanges: this.relayedChanges,
    };
  }

  private emit(change: KvChange, mark: ChangeMark): void {
    this.watch?.onChange(mark.partition, mapOfChange(change));
    for (const listener of this.changeListeners) {
      try {
        listener(change, mark);
      } catch (error) {
        this.ctx?.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'map change listener threw');
      }
    }
  }

  private scheduleGc(): void {
    const ctx = this.ctx;
    if (ctx === undefined || ctx.stopped()) return;
    const due = ctx.timers.now() + this.config.tombstoneGcIntervalMs;
    this.gcTimer = ctx.timers.at(due, () => {
      // A host that is closing fires its pending timers early: no further round then.
      if (ctx.stopped() || ctx.timers.now() < due) return;
      this.tombstonesCollected += this.store.collectTombstones(ctx.timers.now() - this.config.tombstoneTtlMs);
      this.scheduleGc();
    });
  }

  private running(): { owner: PartitionHandler; replica: PartitionHandler; watch: WatchHandler } {
    if (this.built === undefined) throw new FlotillaError('FLO_NODE_STOPPED', 'the map store is not running');
    return this.built;
  }

  /** Counters and the entries held here. */
  status(): KvStatus {
    const counters = this.kv?.counters ?? { writes: 0, writesRefused: 0, reads: 0, readsHeld: 0, replicated: 0, replicasRefused: 0, asyncReplicationFailures: 0, writesUnconfirmed: 0, writesTooFewCopies: 0 };
    return { ...counters, localEntries: this.store.size(), localTombstones: this.store.tombstones(), tombstonesCollected: this.tombstonesCollected };
  }

  /** The named map `name` (cheap: a handle, no state of its own). @throws FLO_INVALID_ARGUMENT for a bad name. */
  getMap<V extends KvValue = KvValue>(name: string): GridMap<V> {
    return new GridMap<V>(name, this);
  }

  /** The named OR-map `name` (several values per key, observed-remove). @throws FLO_INVALID_ARGUMENT for a bad name. */
  getOrMap<V extends KvValue = KvValue>(name: string): GridOrMap<V> {
    return new GridOrMap<V>(name, this);
  }

  /** Store `value` under `key` in the default map; resolves once the owner and every backup have it. */
  kvPut(key: string, value: KvValue, options?: RouteOptions): Promise<void> {
    return this.defaultMap.set(key, value, options);
  }

  /** The value under `key` in the default map, or undefined. */
  kvGet(key: string, options?: RouteOptions): Promise<KvValue | undefined> {
    return this.defaultMap.get(key, options);
  }

  /** Remove `key` from the default map; true when it was there. */
  kvDelete(key: string, options?: RouteOptions): Promise<boolean> {
    return this.defaultMap.delete(key, options);
  }

  /** Entries in the default map: each partition counted at its owner. */
  kvSize(): Promise<number> {
    return this.defaultMap.size();
  }

  checkValueSize(bytes: Uint8Array): void {
    if (bytes.byteLength > this.config.valueBytesMax) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `value of ${bytes.byteLength} bytes exceeds ${this.config.valueBytesMax}`);
    }
  }

  /** Run one operation at the owner of `key`'s partition; the raw reply. */
  run(key: string, op: KvOp, options?: RouteOptions): Promise<Uint8Array | undefined> {
    const ctx = this.requireCtx();
    return ctx.route(KV_SERVICE, partitionOf(key, ctx.partitionCount), new KvCall(op), options);
  }

  async runBoolean(key: string, op: KvOp, options?: RouteOptions): Promise<boolean> {
    return decodeWriteAnswer(await this.run(key, op, options)).result === true;
  }

  async size(map: string): Promise<number> {
    let total = 0;
    await this.eachPartition(async (ctx, p) => {
      const n = decodeResult(await ctx.route(KV_SERVICE, p, new KvCall({ op: 'size', map })));
      total += typeof n === 'number' ? n : 0;
    });
    return total;
  }

  async entries(map: string): Promise<[string, Uint8Array][]> {
    const perPartition: [string, Uint8Array][][] = [];
    await this.eachPartition(async (ctx, p) => {
      const out: [string, Uint8Array][] = [];
      let after: string | null = null;
      for (;;) {
        const page = decodeEntriesPage(await ctx.route(KV_SERVICE, p, new KvCall({ op: 'entries', map, after })), this.config.valueBytesMax);
        out.push(...page.entries);
        if (!page.more || page.entries.length === 0) break;
        after = page.entries[page.entries.length - 1]![0];
      }
      perPartition[p] = out;
    });
    return perPartition.flat();
  }

  private async eachPartition(visit: (ctx: ShardContext, partition: number) => Promise<void>): Promise<void> {
    const ctx = this.requireCtx();
    const count = ctx.partitionCount;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) await visit(ctx, next++);
    };
    await Promise.all(Array.from({ length: Math.min(KV_SIZE_FAN_OUT_MAX, count) }, worker));
  }

  private requireCtx(): ShardContext {
    if (this.ctx === undefined || this.ctx.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', 'the map store is not running');
    return this.ctx;
  }
}

/** What a relay uses of the context: its bound methods, not the whole context. */
function pick(ctx: ShardContext): Pick<ShardContext, 'self' | 'table' | 'addressOf' | 'request' | 'timers' | 'stopped' | 'observeTableVersion'> {
  return {
    self: ctx.self,
    timers: ctx.timers,
    table: () => ctx.table(),
    addressOf: (id) => ctx.addressOf(id),
    request: (to, message, timeoutMs) => ctx.request(to, message, timeoutMs),
    stopped: () => ctx.stopped(),
    observeTableVersion: (v) => ctx.observeTableVersion(v),
  };
}

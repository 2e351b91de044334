/**
 * The map store's request handlers. On the owner (`kv`): reads, and writes that are
 * versioned with the node's HLC, applied, sent to every sealed migration of the
 * partition and replicated to every backup in the table before they are acknowledged
 * (in the default sync backup mode), so an owner's crash loses no acknowledged write once
 * its first backup is promoted. On a backup (`kv.replica`): changes from the owner,
 * refused from a deposed one.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { HybridLogicalClock } from '../core/hlc.js';
import type { Address, NodeId } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import type { Message, ServiceRequest } from '../protocol/messages.js';
import { decodeReplication, encodeReplication, mapOfChange, pack, versionOfChange, type KvChange, type KvVersion } from './kv-codec.js';
import { orMapStoreName, orSlotKey, orSlotPrefix, routingKeyOf } from './or-map-keys.js';
import { checkOp, decodeOp, encodeEntriesPage, encodeResult, encodeVersioned, encodeWriteAnswer, ENTRIES_PAGE_BYTES_MAX, isWriteOp, KvCall, type KvOp } from './map-ops.js';
import type { ChangeMark } from './change-replay.js';
import { KV_SERVICE, type KvStore } from './kv-store.js';
import type { KvConfig } from './kv-config.js';
import { remoteError } from '../sharding/migration-outgoing.js';
import { peerError } from '../sharding/routing.js';
import type { PartitionHandler, ShardContext } from '../sharding/service.js';

/** Service name of owner-to-backup replication. */
export const KV_REPLICA_SERVICE = 'kv.replica';

/** What the KV handlers need: the store and its clock, and the sharding layer's context. */
export interface KvHandlerDeps extends Pick<ShardContext, 'self' | 'table' | 'roleOf' | 'addressOf' | 'request' | 'flushSealed' | 'observeTableVersion' | 'awaitingData'> {
  readonly store: KvStore;
  readonly hlc: HybridLogicalClock;
  readonly config: KvConfig;
  /**
   * Told of each owner write once it is acknowledged (the map change events), with its
   * partition's mark (`markOf`) taken after it.
   */
  readonly onChange?: (change: KvChange, mark: ChangeMark) => void;
}

/** Counters of the KV handlers. */
export interface KvCounters {
  writes: number;
  /** Writes refused because the stored version was newer than the owner's clock. */
  writesRefused: number;
  reads: number;
  /** Reads that would have answered absent while the partition's handed-over data was still on its way. */
  readsHeld: number;
  replicated: number;
  replicasRefused: number;
  /** Backup sends that failed in async backup mode (the write was already acknowledged). */
  asyncReplicationFailures: number;
  /** Writes applied here whose backups or sealed migrations failed: answered FLO_UNCONFIRMED. */
  writesUnconfirmed: number;
  /** Writes refused before applying because the partition had fewer live copies (owner and backups in the view) than `kv.writeCopiesMin` asks. */
  writesTooFewCopies: number;
}

/** The owner-side `kv` handler and the backup-side `kv.replica` handler. */
export class KvHandlers {
  readonly counters: KvCounters = { writes: 0, writesRefused: 0, reads: 0, readsHeld: 0, replicated: 0, replicasRefused: 0, asyncReplicationFailures: 0, writesUnconfirmed: 0, writesTooFewCopies: 0 };
  private replicaSeq = 0;
  /** Per partition: versions of owner writes applied here and not yet acknowledged or failed (bounded by the writes in flight). */
  private readonly unsettled = new Map<number, KvVersion[]>();
  /** Per partition: the HLC millis of the newest write this node acknowledged as owner. */
  private readonly newestAcked = new Map<number, number>();

  constructor(private readonly deps: KvHandlerDeps) {}

  /**
   * The resume mark of `partition`: every owner write to it at HLC millis up to the mark
   * has been acknowledged (and reported to `onChange`) or has failed. Any later write, by
   * this node or by a later owner (whose clock has seen every acknowledged version through
   * replication), is stored above the newest acknowledged version, so the mark stays below
   * both that version and the oldest write still in flight. `storedNewest` (the newest
   * version held for the partition) stands in before this node acknowledged a write of
   * it: a promoted backup holds every acknowledged write. Undefined when neither is known.
   */
  markOf(partition: number, storedNewest?: number): number | undefined {
    const newest = this.newestAcked.get(partition) ?? storedNewest;
    if (newest === undefined) return undefined;
    let low = newest;
    for (const v of this.unsettled.get(partition) ?? []) low = Math.min(low, v.millis);
    return low - 1;
  }

  /**
   * A split-brain merge stored changes of `partition` on this owner at HLC millis `stamp`:
   * the mark moves up to them, and each is reported to `onChange` like an acknowledged write.
   */
  merged(partition: number, changes: readonly KvChange[], stamp: number): void {
    // The clock moves on to the next millisecond (the merge ran in one turn: no write came
    // between), so no later write shares the stamp's and the mark may stand at the stamp
    // itself: a cursor there has the merged slots, and they do not go out again.
    this.observe({ millis: stamp + 1, counter: 0, node: this.deps.self });
    this.newestAcked.set(partition, Math.max(this.newestAcked.get(partition) ?? 0, stamp + 1));
    const mark = { partition, millis: this.markOf(partition)!, epoch: this.deps.table().epoch(partition) };
    for (const change of changes) this.deps.onChange?.(change, mark);
  }

  /** The arrival stamp of what a merge stores: the clock's millis now. */
  stamp(): number {
    return this.deps.hlc.now().millis;
  }

  /** The handler of client operations, run on the owner. */
  owner(): PartitionHandler {
    return {
      service: KV_SERVICE,
      ownerOnly: true,
      isWrite: (request) => isWriteOp(request.payload),
      handle: (request) => this.onOwner(request.partition, decodeOp(request.payload, this.deps.config.valueBytesMax)),
      handleLocal: (partition, call) => this.onOwner(partition, call instanceof KvCall ? checkOp(call.op, this.deps.config.valueBytesMax) : decodeOp(call.encode(), this.deps.config.valueBytesMax)),
    };
  }

  /**
   * The handler of replicated changes, run on backups. Not a write for the read-only
   * check: the owner decided, and the owner is where quorum is checked.
   */
  replica(): PartitionHandler {
    return { service: KV_REPLICA_SERVICE, ownerOnly: false, isWrite: () => false, handle: (request, from) => this.onReplica(request, from) };
  }

  private onOwner(p: number, op: KvOp): Promise<Uint8Array | undefined> {
    const { store } = this.deps;
    if (op.op !== 'size' && op.op !== 'entries') this.checkPartition(op.key, p);
    switch (op.op) {
      case 'get': {
        this.counters.reads++;
        store.hit(p, op.map, op.key);
        const value = store.get(p, op.key, op.map)?.value;
        if (value === undefined) this.checkComplete(p);
        return Promise.resolve(value);
      }
      case 'getVersioned': {
        this.counters.reads++;
        store.hit(p, op.map, op.key);
        const slot = store.slot(p, op.map, op.key);
        if (slot === undefined) this.checkComplete(p);
        return Promise.resolve(encodeVersioned(slot));
      }
      case 'size':
        this.checkComplete(p);
        return Promise.resolve(encodeResult(store.partitionSize(p, op.map)));
      case 'entries':
        this.counters.reads++;
        this.checkComplete(p);
        return Promise.resolve(encodeEntriesPage(store.entriesPage(p, op.map, op.after, ENTRIES_PAGE_BYTES_MAX)));
      case 'put': {
        const version = this.version();
        return this.write(p, { kind: 'put', map: op.map, key: op.key, entry: { value: op.value, version } }).then(() => encodeWriteAnswer(null, version));
      }
      case 'delete': {
        if (store.get(p, op.key, op.map) === undefined) return Promise.resolve(encodeResult(false));
        const version = this.version();
        return this.write(p, { kind: 'delete', map: op.map, key: op.key, version }).then(() => encodeWriteAnswer(true, version));
      }
      case 'orAdd': {
        const version = this.version();
        return this.write(p, { kind: 'put', map: orMapStoreName(op.map), key: orSlotKey(op.key, version), entry: { value: op.value, version } }).then(() => undefined);
      }
      case 'orRemove':
        return this.orRemove(p, op.map, op.key, op.value);
      case 'orGet': {
        this.counters.reads++;
        const values = distinctValues(store.liveWithPrefix(p, orMapStoreName(op.map), orSlotPrefix(op.key)).map(([, e]) => e.value));
        if (values.length === 0) this.checkComplete(p);
        return Promise.resolve(pack(values));
      }
    }
  }

  /**
   * Before an answer of "absent" (or a partial listing): while data of the partition is
   * still handed over after a merge, absent may only mean "not here yet", and a caller
   * told "absent" would take it for the truth. The error is retryable: routing retries
   * it within the caller's deadline.
   */
  private checkComplete(partition: number): void {
    if (this.deps.awaitingData(partition)) {
      this.counters.readsHeld++;
      throw new FlotillaError('FLO_PARTITION_SYNCING', `partition ${partition}: data handed over after a merge has not all arrived here yet`, { partition });
    }
  }

  /** Tombstone every add of `value` (of any value when null) under `key` that this owner holds: the observed ones. */
  private async orRemove(p: number, map: string, key: string, value: Uint8Array | null): Promise<Uint8Array> {
    const stored = orMapStoreName(map);
    const observed = this.deps.store.liveWithPrefix(p, stored, orSlotPrefix(key)).filter(([, e]) => value === null || sameBytes(e.value, value));
    await Promise.all(observed.map(([slotKey]) => this.write(p, { kind: 'delete', map: stored, key: slotKey, version: this.version() })));
    return encodeResult(observed.length);
  }

  /**
   * Apply, then wait for sealed migrations and backups. The apply and the sends happen
   * before any await. A change the store refuses (it holds a newer version, written by a
   * node whose clock runs ahead of this one beyond the drift bound) is an error to the
   * caller, never an acknowledgement.
   *
   * Once applied, the change stays here (and comes back in a later merge) whatever the
   * backups answer, so a failure after the apply is FLO_UNCONFIRMED: an answer of
   * "did not run" (NOT_OWNER) would let a retry's refusal reach the caller as a definite
   * one while the value survives.
   */
  private async write(partition: number, change: KvChange): Promise<void> {
    const backups = this.liveBackups(partition);
    const { writeCopiesMin } = this.deps.config;
    if (backups.length + 1 < writeCopiesMin) {
      this.counters.writesTooFewCopies++;
      throw new FlotillaError('FLO_TOO_FEW_COPIES', `partition ${partition} has ${backups.length + 1} live ${backups.length === 0 ? 'copy' : 'copies'}, kv.writeCopiesMin asks for ${writeCopiesMin}`, { partition });
    }
    if (!this.deps.store.apply(partition, change)) {
      this.counters.writesRefused++;
      throw new FlotillaError('FLO_HLC_DRIFT', `${change.key}: the stored version is newer than this node's clock`, { partition });
    }
    this.counters.writes++;
    const version = versionOfChange(change);
    const unsettled = this.unsettled.get(partition) ?? [];
    this.unsettled.set(partition, unsettled);
    unsettled.push(version);
    const flushed = this.deps.flushSealed(partition);
    const replicated = this.replicate(partition, change, backups);
    try {
      if (replicated === undefined || this.deps.config.backupMode === 'async') {
        replicated?.catch(() => this.counters.asyncReplicationFailures++);
        await flushed;
      } else {
        await Promise.all([flushed, replicated]);
      }
    } catch (error) {
      this.counters.writesUnconfirmed++;
      throw unconfirmed(partition, change.key, error);
    } finally {
      unsettled.splice(unsettled.indexOf(version), 1);
      if (unsettled.length === 0) this.unsettled.delete(partition);
    }
    this.newestAcked.set(partition, Math.max(this.newestAcked.get(partition) ?? 0, version.millis));
    this.deps.onChange?.(change, { partition, millis: this.markOf(partition)!, epoch: this.deps.table().epoch(partition) });
  }

  /**
   * The partition's backups that are in the view. One missing from it has left or died:
   * the table drops it soon, it would never be promoted with a write, and it is no copy.
   */
  private liveBackups(partition: number): NodeId[] {
    const out: NodeId[] = [];
    for (const b of this.deps.table().backups(partition)) if (b !== this.deps.self && this.deps.addressOf(b) !== undefined) out.push(b);
    return out;
  }

  /** The sends to `backups`; undefined when there are none (nothing to wait for). */
  private replicate(partition: number, change: KvChange, backups: readonly NodeId[]): Promise<unknown> | undefined {
    if (backups.length === 0) return undefined;
    const table = this.deps.table();
    const payload = encodeReplication({ epoch: table.epoch(partition), tableVersion: table.version, change });
    return Promise.all(backups.map((backup) => this.replicateTo(backup, partition, payload)));
  }

  private async replicateTo(backup: NodeId, partition: number, payload: Uint8Array): Promise<void> {
    // `liveBackups` picked it from the view; the address is what the send needs.
    const address = this.deps.addressOf(backup);
    if (address === undefined) return;
    const request: ServiceRequest = {
      type: 'ServiceRequest',
      service: KV_REPLICA_SERVICE,
      partition,
      opId: `${this.deps.self}/r${++this.replicaSeq}`,
      forward: false,
      payload,
    };
    let reply: Message;
    try {
      reply = await this.deps.request(address, request, this.deps.config.replicationTimeoutMs);
    } catch (error) {
      throw peerError(error);
    }
    if (reply.type !== 'ServiceResponse') throw new FlotillaError('FLO_INTERNAL', `replication answered with ${reply.type}`);
    if (reply.ok) return;
    if (reply.tableVersion !== undefined) this.deps.observeTableVersion(reply.tableVersion);
    // A backup with a newer epoch knows this node was deposed; `write` reports it as unconfirmed.
    if (reply.errorCode === 'FLO_STALE_EPOCH') throw new FlotillaError('FLO_STALE_EPOCH', `backup ${backup} holds partition ${partition} under a newer owner`);
    throw remoteError(reply.errorCode, reply.errorMessage);
  }

  private onReplica(request: ServiceRequest, from: Address | undefined): Promise<Uint8Array | undefined> {
    const { epoch, tableVersion, change } = decodeReplication(request.payload, this.deps.config.valueBytesMax);
    const p = request.partition;
    this.checkPartition(routingKeyOf(mapOfChange(change), change.key), p);
    const table = this.deps.table();
    if (epoch < table.epoch(p)) {
      this.counters.replicasRefused++;
      throw new FlotillaError('FLO_STALE_EPOCH', `partition ${p} is at epoch ${table.epoch(p)}, the write carries ${epoch}`);
    }
    // Two lineages of the table (a master that came back from a stall, the cluster that
    // went on without it) can each give the partition the same epoch under different
    // owners. An epoch has one owner: a change at this table's epoch from anyone else is
    // another lineage's writer, and taking it would let two nodes write at one epoch.
    if (epoch === table.epoch(p) && from !== undefined && !this.fromOwner(p, from)) {
      this.counters.replicasRefused++;
      throw new FlotillaError('FLO_STALE_EPOCH', `partition ${p} epoch ${epoch} belongs to ${table.owner(p) ?? 'no owner'} in table ${table.version}, not to the sender`, { partition: p, epoch });
    }
    if (tableVersion <= table.version && this.deps.roleOf(p) === 'none') {
      this.counters.replicasRefused++;
      throw new FlotillaError('FLO_NOT_OWNER', `not a replica of partition ${p} in table ${table.version}`);
    }
    this.counters.replicated++;
    this.deps.store.apply(p, change);
    this.observe(versionOfChange(change));
    // A backup that streams the partition (a migration's data source) passes the change on.
    return this.deps.flushSealed(p).then(() => undefined);
  }

  /** Whether `from` is the address of `partition`'s owner in this node's table. */
  private fromOwner(partition: number, from: Address): boolean {
    const owner = this.deps.table().owner(partition);
    return owner !== undefined && this.deps.addressOf(owner) === from;
  }

  private checkPartition(key: string, partition: number): void {
    if (partitionOf(key, this.deps.table().partitionCount) !== partition) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', `key does not belong to partition ${partition}`);
    }
  }

  private version(): KvVersion {
    const ts = this.deps.hlc.now();
    return { millis: ts.millis, counter: ts.counter, node: ts.nodeId };
  }

  /** Keep the local clock ahead of versions written elsewhere, so later local writes win over them. */
  observe(version: KvVersion): void {
    try {
      this.deps.hlc.receive({ millis: version.millis, counter: version.counter, nodeId: version.node });
    } catch {
      // A version too far ahead (FLO_HLC_DRIFT) keeps its place in the order; the clock just does not follow it.
    }
  }
}

/** A failure after the local apply, as the caller must hear it: the write may have taken effect. */
function unconfirmed(partition: number, key: string, error: unknown): FlotillaError {
  const cause = isFlotillaError(error) ? error : undefined;
  const why = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new FlotillaError('FLO_UNCONFIRMED', `${key}: applied on this owner of partition ${partition}, not confirmed by its backups (${why})`, {
    partition,
    outcomeUnknown: true,
    ...(cause === undefined ? {} : { cause: cause.code }),
  });
}

/** Each value once (an OR-map may hold one value under several tags), first add first. */
function distinctValues(values: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const v of values) if (!out.some((o) => sameBytes(o, v))) out.push(v);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The entity runtime of one node: activates entities on demand, runs each one's calls
 * one at a time through its bounded mailbox (re-entrant calls of the same chain run at
 * once), loads state on activation and saves it after every call that changed it
 * (through group commit, under the partition's epoch), passivates idle activations and
 * bounds how many are held. Ownership and fencing come from the `PartitionGate`; where
 * nested calls go comes from the dispatcher, so the same runtime serves one process or a
 * cluster.
 */
import type { Clock } from '../core/clock.js';
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import { compareCodeUnits } from '../core/text.js';
import type { Storage } from '../storage/storage.js';
import { Activation, type MailboxItem, type TurnEnv } from './activation.js';
import { entityKey, type CallDispatcher, type EntityCall } from './call.js';
import type { AnyEntityDefinition } from './definition.js';
import { resolveEntityConfig, type EntityConfig } from './entity-config.js';
import { buildRegistry, type EntityType } from './entity-type.js';
import { StaticGate, type PartitionGate } from './partition-gate.js';
import { makeEntityRef, type EntityRef } from './ref.js';
import { newRuntimeStats, recordCall, type ActiveEntity, type ActiveEntityCount, type EntityRuntimeStats } from './runtime-stats.js';
import { WriteBatcher } from './write-batcher.js';

/** How to build a runtime. */
export interface EntityRuntimeOptions {
  readonly nodeId: NodeId;
  readonly definitions: readonly AnyEntityDefinition[];
  /** Required when any type is durable. */
  readonly storage?: Storage;
  readonly clock: Clock;
  readonly config?: Partial<EntityConfig>;
  /** Default: 271. Must match the cluster's. */
  readonly partitionCount?: number;
  /** Ownership and fencing. Default: a `StaticGate` (this node owns everything at epoch 1). */
  readonly gate?: PartitionGate;
  /** Where calls made by handlers (`ctx.entity`) go. Default: this runtime. */
  readonly dispatch?: CallDispatcher;
  /** Schedules group commits: the host's batching point (`Timers.defer`). */
  readonly defer: (fn: () => void) => void;
  /**
   * The node's quorum verdict: while true, a call that changed state fails with
   * FLO_READ_ONLY and its change is rolled back; calls that change nothing still run.
   */
  readonly readOnly?: () => boolean;
  /** The host's refusal of state changes on `partition` (etcd mode: no lease or no lock), or undefined. */
  readonly writeRefusal?: (partition: number) => FlotillaError | undefined;
}

/** The entity runtime of one node. */
export class EntityRuntime {
  readonly config: EntityConfig;
  readonly stats: EntityRuntimeStats = newRuntimeStats();
  private readonly types: Map<string, EntityType>;
  /** Activations in least-recently-used order (a use moves one to the end). */
  private readonly active = new Map<string, Activation>();
  private readonly gate: PartitionGate;
  private readonly writer: WriteBatcher | undefined;
  private readonly dispatch: CallDispatcher;
  private readonly partitionCount: number;
  private readonly env: TurnEnv;
  private stopped = false;

  /** @throws FlotillaError FLO_CONFIG_INVALID on a bad config, a type registered twice, or durable types without storage. */
  constructor(private readonly options: EntityRuntimeOptions) {
    this.config = resolveEntityConfig(options.config);
    this.types = buildRegistry(options.definitions, this.config);
    this.partitionCount = options.partitionCount ?? 271;
    const durable = [...this.types.values()].some((t) => t.durable);
    if (durable && options.storage === undefined) throw new FlotillaError('FLO_CONFIG_INVALID', 'durable entity types need storage');
    this.writer = options.storage === undefined ? undefined : new WriteBatcher(options.storage, this.config.writeBatchMax, options.defer);
    this.gate = options.gate ?? new StaticGate(options.nodeId, options.storage);
    this.dispatch = options.dispatch ?? ((call) => this.invoke(call));
    this.env = {
      nodeId: options.nodeId,
      stateBytesMax: this.config.stateBytesMax,
      now: () => options.clock.now(),
      refFor: (definition, id, chain) => makeEntityRef(definition, id, (handler, args, meta) => this.dispatch({ type: definition.type, id, handler, args, meta, chain })),
    };
  }

  /** The registered type `type`, if any. */
  typeOf(type: string): EntityType | undefined {
    return this.types.get(type);
  }

  /** The partition of an entity. */
  partitionOf(type: string, id: string): number {
    return partitionOf(entityKey(type, id), this.partitionCount);
  }

  /** A ref whose calls go straight to this runtime (a fresh call chain). */
  ref<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D> {
    return makeEntityRef(definition, id, (handler, args, meta) => this.invoke({ type: definition.type, id, handler, args, meta, chain: [] }));
  }

  /**
   * Run one call on this node. Queues it in the entity's mailbox (activating the entity
   * if needed), or runs it at once when its chain already holds the entity. Rejects with
   * FLO_ENTITY_UNKNOWN, FLO_HANDLER_UNKNOWN, FLO_CALL_DEPTH, FLO_MAILBOX_FULL,
   * FLO_QUEUE_FULL (every activation busy at `activeEntitiesMax`), FLO_NOT_OWNER (the
   * gate refused), the handler's error, or a storage error.
   */
  invoke(call: EntityCall): Promise<unknown> {
    const startedAt = this.options.clock.now();
    let outcome: Promise<unknown>;
    try {
      outcome = this.enqueue(call);
    } catch (error) {
      this.stats.failedCalls++;
      outcome = Promise.reject(error);
    }
    this.observe(outcome, startedAt);
    return outcome;
  }

  /** Count how a call ended and how long it took (a side observer: the caller gets `outcome` itself). */
  private observe(outcome: Promise<unknown>, startedAt: number): void {
    const done = (key: string): void => recordCall(this.stats, key, Math.max(0, this.options.clock.now() - startedAt));
    outcome.then(
      () => done('ok'),
      (error: unknown) => done(isFlotillaError(error) ? error.code : 'other'),
    );
  }

  private enqueue(call: EntityCall): Promise<unknown> {
    if (this.stopped) throw new FlotillaError('FLO_NODE_STOPPED', 'entity runtime stopped');
    const type = this.types.get(call.type);
    if (type === undefined) throw new FlotillaError('FLO_ENTITY_UNKNOWN', call.type);
    if (!type.handlers.has(call.handler)) throw new FlotillaError('FLO_HANDLER_UNKNOWN', `${call.type}.${call.handler}`);
    if (typeof call.id !== 'string' || call.id.length === 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'entity id must be a non-empty string');
    if (call.chain.length + 1 > this.config.callDepthMax) {
      throw new FlotillaError('FLO_CALL_DEPTH', `${call.chain.length + 1} calls deep, limit ${this.config.callDepthMax}`, { chain: call.chain.slice(-8) });
    }
    this.stats.calls++;
    const key = entityKey(call.type, call.id);
    let act = this.active.get(key);
    if (act !== undefined && call.callId !== undefined) {
      const prior = act.recall(call.callId);
      if (prior !== undefined) {
        this.stats.dedupedCalls++;
        return prior;
      }
    }
    if (act !== undefined && act.running > 0 && call.chain.includes(key)) return this.reenter(act, call);
    act ??= this.activate(type, call.id);
    if (act.mailbox.length >= type.mailboxCapacityMax) {
      this.stats.mailboxRejections++;
      throw new FlotillaError('FLO_MAILBOX_FULL', `${key}: ${act.mailbox.length} calls waiting`, { capacity: type.mailboxCapacityMax });
    }
    this.touch(act);
    const outcome = new Promise<unknown>((resolve, reject) => act.mailbox.push({ call, resolve, reject }));
    const callId = call.callId;
    if (callId !== undefined) act.remember(callId, outcome);
    outcome.catch((error: unknown) => {
      this.stats.failedCalls++;
      // Refused for ownership, the call did not run: its retry must run, not replay the refusal.
      if (callId !== undefined && (isFlotillaError(error, 'FLO_NOT_OWNER') || isFlotillaError(error, 'FLO_DETACHED'))) act.forget(callId, outcome);
    });
    if (!act.draining) void this.drain(act);
    return outcome;
  }

  private activate(type: EntityType, id: string): Activation {
    if (this.active.size >= this.config.activeEntitiesMax && !this.evictOne()) {
      throw new FlotillaError('FLO_QUEUE_FULL', `all ${this.active.size} activations are busy (activeEntitiesMax)`);
    }
    const act = new Activation(type, id, this.partitionOf(type.definition.type, id), this.options.clock.now());
    this.active.set(act.key, act);
    this.stats.activations++;
    return act;
  }

  /** Passivate the least recently used idle activation; false when every one is busy. */
  private evictOne(): boolean {
    for (const act of this.active.values()) {
      if (!act.idle()) continue;
      this.remove(act);
      this.stats.evictions++;
      return true;
    }
    return false;
  }

  private touch(act: Activation): void {
    this.active.delete(act.key);
    this.active.set(act.key, act);
  }

  private async reenter(act: Activation, call: EntityCall): Promise<unknown> {
    this.stats.reentrantCalls++;
    act.running++;
    try {
      return await this.runTurn(act, call, true);
    } finally {
      act.running--;
    }
  }

  private async drain(act: Activation): Promise<void> {
    act.draining = true;
    try {
      for (let item = act.mailbox.shift(); item !== undefined; item = act.mailbox.shift()) await this.runQueued(act, item);
    } finally {
      act.draining = false;
      // Calls refused before the state was loaded (not the owner) leave nothing behind.
      if (!act.loaded && act.idle()) this.remove(act);
    }
  }

  private async runQueued(act: Activation, item: MailboxItem): Promise<void> {
    act.running++;
    try {
      item.resolve(await this.runTurn(act, item.call, false));
    } catch (error) {
      item.reject(error);
    } finally {
      act.running--;
      act.lastUsedAt = this.options.clock.now();
      act.notifyIfIdle();
    }
  }

  /** One call: admission and loading (unless re-entrant), the handler, then the save. */
  private async runTurn(act: Activation, call: EntityCall, reentrant: boolean): Promise<unknown> {
    if (this.stopped) throw new FlotillaError('FLO_NODE_STOPPED', 'entity runtime stopped');
    if (act.dropped) throw notOwner(act);
    if (!reentrant || !act.loaded) {
      // etcd mode: without the partition's lock the call would only be rolled back; refuse before it runs.
      const refusal = this.options.writeRefusal?.(act.partition);
      if (refusal !== undefined) throw refusal;
      const epoch = await this.gate.admit(act.partition);
      if (act.dropped) throw notOwner(act);
      if (!act.loaded || act.epoch !== epoch) await this.load(act, epoch);
    }
    const { result, bytes } = await act.execute(call, this.env);
    if (bytes !== undefined) await this.persist(act, bytes);
    return result;
  }

  private async load(act: Activation, epoch: number): Promise<void> {
    if (!act.type.durable || this.options.storage === undefined) {
      if (!act.loaded) act.load(undefined, epoch);
      act.epoch = epoch;
      return;
    }
    this.stats.loads++;
    const stored = await this.options.storage.loadEntity(act.type.definition.type, act.id);
    if (act.dropped) throw notOwner(act);
    act.load(stored, epoch);
  }

  private async persist(act: Activation, bytes: Uint8Array): Promise<void> {
    if (this.options.readOnly?.() === true) {
      act.restore();
      throw new FlotillaError('FLO_READ_ONLY', `${act.key}: this node is on the minority side and refuses state changes`);
    }
    const refusal = this.options.writeRefusal?.(act.partition);
    if (refusal !== undefined) {
      act.restore();
      throw refusal;
    }
    if (!act.type.durable || this.writer === undefined) {
      act.saved(bytes, act.version + 1);
      return;
    }
    this.stats.writes++;
    const write = { partition: act.partition, epoch: act.epoch, writer: this.options.nodeId, type: act.type.definition.type, id: act.id, state: bytes, expectedVersion: act.version };
    let result;
    try {
      result = await this.writer.write(write);
    } catch (error) {
      act.restore();
      throw error;
    }
    if (result.ok) {
      act.saved(bytes, result.version);
      return;
    }
    act.restore();
    if (isFlotillaError(result.error, 'FLO_STALE_EPOCH')) {
      this.stats.staleEpochWrites++;
      this.gate.deposed(act.partition, act.epoch);
      this.dropPartition(act.partition);
      throw new FlotillaError('FLO_NOT_OWNER', `${act.key}: partition ${act.partition} is fenced by a newer owner`, { partition: act.partition });
    }
    // Someone else wrote this entity: the in-memory copy is stale, reload it next time.
    act.loaded = false;
    throw result.error;
  }

  /** Passivate activations idle for their type's `passivateAfterMs`; returns how many. */
  sweep(): number {
    const now = this.options.clock.now();
    let count = 0;
    for (const act of [...this.active.values()]) {
      if (act.idle() && now - act.lastUsedAt >= act.type.passivateAfterMs) {
        this.remove(act);
        count++;
      }
    }
    this.stats.passivations += count;
    return count;
  }

  /**
   * Ownership of `partition` is gone (deposed, or moved by a table change): forget its
   * activations now. Calls still queued are refused with FLO_NOT_OWNER (callers retry at
   * the new owner); a running call's save is refused by the fence.
   */
  dropPartition(partition: number): number {
    let count = 0;
    for (const act of [...this.active.values()]) {
      if (act.partition !== partition) continue;
      this.remove(act);
      count++;
    }
    return count;
  }

  /**
   * A planned move: wait for running calls of `partition` (new and queued ones are
   * refused by the sealed gate), then passivate its activations. Their state is already
   * saved. Resolves with how many were passivated.
   */
  async passivatePartition(partition: number): Promise<number> {
    const acts = [...this.active.values()].filter((a) => a.partition === partition);
    await Promise.all(acts.map((a) => a.whenIdle()));
    let count = 0;
    for (const act of acts) {
      if (this.active.get(act.key) !== act) continue;
      this.remove(act);
      count++;
    }
    this.stats.passivations += count;
    return count;
  }

  private remove(act: Activation): void {
    act.dropped = true;
    if (this.active.get(act.key) === act) this.active.delete(act.key);
  }

  /** Active entities on this node. */
  activeEntities(): ActiveEntity[] {
    return [...this.active.values()].map((a) => ({ type: a.type.definition.type, id: a.id, partition: a.partition }));
  }

  /** Active entities per type and partition, sorted by type then partition. */
  entityCounts(): ActiveEntityCount[] {
    const counts = new Map<string, { type: string; partition: number; count: number }>();
    for (const a of this.active.values()) {
      const k = `${a.partition}\u0000${a.type.definition.type}`;
      const c = counts.get(k);
      if (c === undefined) counts.set(k, { type: a.type.definition.type, partition: a.partition, count: 1 });
      else c.count++;
    }
    return [...counts.values()].sort((a, b) => compareCodeUnits(a.type, b.type) || a.partition - b.partition);
  }

  /** Number of activations held. */
  size(): number {
    return this.active.size;
  }

  /** Writes waiting for the group commit. */
  pendingWrites(): number {
    return this.writer?.pending() ?? 0;
  }

  /** Group commit counters. */
  writerStats(): { batches: number; writes: number; largestBatch: number } | undefined {
    if (this.writer === undefined) return undefined;
    const { batches, items, largestBatch } = this.writer.stats;
    return { batches, writes: items, largestBatch };
  }

  /** Refuse new calls and queued ones (FLO_NODE_STOPPED); forget every activation. */
  stop(): void {
    this.stopped = true;
    for (const act of this.active.values()) {
      for (let item = act.mailbox.shift(); item !== undefined; item = act.mailbox.shift()) item.reject(new FlotillaError('FLO_NODE_STOPPED', 'entity runtime stopped'));
      act.dropped = true;
    }
    this.active.clear();
  }
}

function notOwner(act: Activation): FlotillaError {
  return new FlotillaError('FLO_NOT_OWNER', `${act.key}: partition ${act.partition} is not served here`, { partition: act.partition });
}

/**
 * The entity service: entities as a partitioned service of the sharding layer. It
 * answers `entities` requests for owned partitions, takes part in migrations, routes calls
 * from this node (refs and handlers' nested calls) to each entity's owner with one
 * deadline per call, refuses state changes while the node lacks quorum, and runs the
 * passivation sweep on the host's timers.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { sleep, withDeadline, type Timers } from '../core/timers.js';
import type { PartitionedService, PartitionHandler, ShardContext } from '../sharding/service.js';
import type { Storage } from '../storage/storage.js';
import type { EntityCall } from './call.js';
import { decodeCall, decodeOutcome, encodeCall, encodeOutcome, ENTITY_SERVICE } from './call-codec.js';
import type { AnyEntityDefinition } from './definition.js';
import type { EntityConfig } from './entity-config.js';
import { EntityParticipant } from './entity-participant.js';
import { NodeEntityGate } from './node-gate.js';
import { makeEntityRef, type EntityRef } from './ref.js';
import { EntityRuntime } from './runtime.js';
import { CALL_LATENCY_BOUNDS_MS, type ActiveEntity, type ActiveEntityCount, type EntityRuntimeStats } from './runtime-stats.js';
import { decodeValue, encodeValue } from './state-codec.js';

/** How to build the entity service. */
export interface EntityServiceOptions {
  readonly nodeId: NodeId;
  readonly definitions: readonly AnyEntityDefinition[];
  readonly storage: Storage;
  /** Close `storage` when the service stops (true when the node opened it). */
  readonly ownsStorage: boolean;
  readonly config: EntityConfig;
  readonly logger: Logger;
}

/** The entity runtime's counters, copied, with active entities per registered type (0 included). */
export interface EntityServiceStats extends Readonly<EntityRuntimeStats> {
  readonly activeByType: Readonly<Record<string, number>>;
  /** Upper bounds of `callLatencyCounts`' buckets, in ms. */
  readonly callLatencyBoundsMs: readonly number[];
}

/** The entity service of one node. */
export class EntityService implements PartitionedService {
  readonly name = ENTITY_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: EntityParticipant;
  readonly gate: NodeEntityGate;
  private runtimeValue: EntityRuntime | undefined;
  private ctx: ShardContext | undefined;
  private callSeq = 0;
  private stopped = false;

  constructor(private readonly options: EntityServiceOptions) {
    this.gate = new NodeEntityGate({
      self: options.nodeId,
      storage: options.storage,
      logger: options.logger,
      claimWaitMs: options.config.callTimeoutMs,
      timers: () => this.requireCtx().timers,
      table: () => (this.ctx === undefined || this.ctx.stopped() ? undefined : this.ctx.table()),
    });
    // Whether a call writes is known only once its handler ran: the runtime checks quorum at the save.
    this.handlers = [{ service: ENTITY_SERVICE, ownerOnly: true, isWrite: () => false, handle: (request) => this.serve(request.payload) }];
    this.participant = new EntityParticipant({
      self: options.nodeId,
      gate: this.gate,
      logger: options.logger,
      passivateWaitMs: options.config.callTimeoutMs,
      timers: () => this.requireCtx().timers,
      runtime: () => this.runtimeValue,
      movingOwnerOut: (p) => this.ctx?.movingOwnerOut(p) ?? false,
    });
  }

  /** The runtime; throws FLO_NODE_STOPPED before `start` or after `stop`. */
  get runtime(): EntityRuntime {
    if (this.runtimeValue === undefined || this.stopped) throw new FlotillaError('FLO_NODE_STOPPED', 'entity service is not running');
    return this.runtimeValue;
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    this.runtimeValue = new EntityRuntime({
      nodeId: this.options.nodeId,
      definitions: this.options.definitions,
      storage: this.options.storage,
      clock: { now: () => ctx.timers.now() },
      config: this.options.config,
      partitionCount: ctx.partitionCount,
      gate: this.gate,
      dispatch: (call) => this.call(call),
      defer: (fn) => ctx.timers.defer(fn),
      readOnly: () => ctx.readOnly(),
      writeRefusal: (p) => ctx.writeRefusal(p),
    });
    void this.sweepLoop(ctx.timers);
    this.options.logger.info({ types: this.options.definitions.map((d) => d.type), storage: this.options.storage.description }, 'entities: serving');
  }

  /** A ref whose calls are routed to the entity's owner (from any node). */
  ref<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D> {
    return makeEntityRef(definition, id, (handler, args, meta) => this.call({ type: definition.type, id, handler, args, meta, chain: [] }));
  }

  /**
   * Route one call to its entity's owner; retried through moves and failover by the
   * routing client until one deadline, `callTimeoutMs` from now, for the whole call
   * (the local fast path and the routed attempts alike). Rejects with the call's error,
   * or FLO_TIMEOUT.
   */
  async call(call: EntityCall): Promise<unknown> {
    const ctx = this.requireCtx();
    const deadline = ctx.timers.now() + this.options.config.callTimeoutMs;
    const partition = this.runtime.partitionOf(call.type, call.id);
    const identified: EntityCall = { ...call, callId: call.callId ?? `${this.options.nodeId}/${(++this.callSeq).toString(36)}` };
    const table = ctx.table();
    if (table.version > 0 && table.owner(partition) === this.options.nodeId && !this.gate.isSealed(partition)) {
      const local = await withDeadline(this.callHere(identified), deadline, ctx.timers, `${call.type}/${call.id}.${call.handler}`);
      if (local !== ROUTE_IT) return local;
    }
    return decodeOutcome(await ctx.route(ENTITY_SERVICE, partition, encodeCall(identified), { deadline }));
  }

  /**
   * A call whose entity this node owns, run without the wire: arguments and result are
   * still copied (through msgpack, unless they are immutable primitives), so caller and
   * entity never share mutable objects and a value that could not cross the wire fails
   * here too. NOT_OWNER (sealed, deposed, moved meanwhile) hands the call to the routed
   * path, which retries it at the owner under the same call id.
   */
  private async callHere(call: EntityCall): Promise<unknown> {
    const runtime = this.runtime;
    if (runtime.typeOf(call.type) === undefined) throw new FlotillaError('FLO_ENTITY_UNKNOWN', call.type);
    const copied: EntityCall = { ...call, args: copyArgs(call.args), meta: Object.keys(call.meta).length === 0 ? {} : (copyValue(call.meta) as Record<string, unknown>) };
    try {
      return copyValue(await runtime.invoke(copied));
    } catch (error) {
      // FLO_DETACHED (etcd mode, lock not held yet): the routed path retries it with backoff.
      if (isFlotillaError(error, 'FLO_NOT_OWNER') || isFlotillaError(error, 'FLO_DETACHED')) return ROUTE_IT;
      throw isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', error instanceof Error ? error.message : String(error));
    }
  }

  /** Entities active on this node. */
  activeEntities(): ActiveEntity[] {
    return this.runtimeValue?.activeEntities() ?? [];
  }

  /** Active entities here per type and partition. */
  entityCounts(): ActiveEntityCount[] {
    return this.runtimeValue?.entityCounts() ?? [];
  }

  /** A copy of the runtime's counters; undefined before `start`. */
  stats(): EntityServiceStats | undefined {
    const runtime = this.runtimeValue;
    if (runtime === undefined) return undefined;
    const activeByType: Record<string, number> = Object.fromEntries(this.options.definitions.map((d) => [d.type, 0]));
    for (const c of runtime.entityCounts()) activeByType[c.type] = (activeByType[c.type] ?? 0) + c.count;
    const s = runtime.stats;
    return { ...s, callOutcomes: { ...s.callOutcomes }, callLatencyCounts: [...s.callLatencyCounts], callLatencyBoundsMs: CALL_LATENCY_BOUNDS_MS, activeByType };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.runtimeValue?.stop();
    if (this.options.ownsStorage) await this.options.storage.close();
  }

  /** Run a call that reached this node as owner; handler outcomes travel in the answer. */
  private async serve(payload: Uint8Array): Promise<Uint8Array> {
    const call = decodeCall(payload);
    const runtime = this.runtime;
    if (runtime.typeOf(call.type) === undefined) return encodeOutcome({ ok: false, error: new FlotillaError('FLO_ENTITY_UNKNOWN', call.type) });
    try {
      return encodeOutcome({ ok: true, result: await runtime.invoke(call) });
    } catch (error) {
      // Routing-level: the router answers NOT_OWNER with the owner it knows; the caller follows.
      if (isFlotillaError(error, 'FLO_NOT_OWNER') || isFlotillaError(error, 'FLO_DETACHED')) throw error;
      const err = isFlotillaError(error) ? error : new FlotillaError('FLO_INTERNAL', error instanceof Error ? error.message : String(error));
      return encodeOutcome({ ok: false, error: err });
    }
  }

  private requireCtx(): ShardContext {
    if (this.ctx === undefined || this.stopped || this.ctx.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', 'entity service is not running');
    return this.ctx;
  }

  /** Sweeps every `passivationSweepMs` until the service or its host stops. */
  private async sweepLoop(timers: Timers): Promise<void> {
    while (!this.stopped && this.ctx?.stopped() === false) {
      await sleep(timers, this.options.config.passivationSweepMs);
      if (this.stopped || this.ctx.stopped()) return;
      try {
        this.sweep();
      } catch (err) {
        this.options.logger.error({ err }, 'entities: sweep failed');
      }
    }
  }

  /** Passivate idle entities, and forget those of partitions this node no longer owns. */
  private sweep(): void {
    const runtime = this.runtimeValue;
    if (runtime === undefined || this.stopped) return;
    runtime.sweep();
    const table = this.ctx?.table();
    if (table === undefined || table.version === 0) return;
    const stale = new Set<number>();
    for (const c of runtime.entityCounts()) if (table.owner(c.partition) !== this.options.nodeId && !this.gate.isSealed(c.partition)) stale.add(c.partition);
    for (const p of stale) runtime.dropPartition(p);
  }
}

/** `callHere`'s answer when the call must take the routed path instead. */
const ROUTE_IT: unique symbol = Symbol('route it');

function isImmutable(value: unknown): boolean {
  return value === null || value === undefined || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

/** A copy of `value` as the wire would deliver it (primitives are their own copy). */
function copyValue(value: unknown): unknown {
  return isImmutable(value) ? value : decodeValue(encodeValue(value));
}

function copyArgs(args: readonly unknown[]): unknown[] {
  return args.every(isImmutable) ? args.slice() : (decodeValue(encodeValue(args)) as unknown[]);
}

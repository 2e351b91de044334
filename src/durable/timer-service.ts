/**
 * Durable timers as a partitioned service. A timer is a storage row (partition, due
 * time); the partition's owner keeps only the nearest rows of its partitions in memory
 * (`TimerWindow`) and arms one host timer at the earliest, so a timer fires right at its
 * due time without polling. Firing is a fenced commit that removes the row (with the
 * kind's own changes), so each timer fires once even across crashes and moves. Rows are
 * re-read when this node gains or loses partitions.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import { partitionOf } from '../core/partition.js';
import type { TimerHandle } from '../core/timers.js';
import { decodeValue, encodeValue } from '../entities/state-codec.js';
import type { NodeEntityGate } from '../entities/node-gate.js';
import type { PartitionedService, PartitionHandler, ShardContext } from '../sharding/service.js';
import type { DurableCommit, DurableTimer } from '../storage/durable.js';
import type { Storage } from '../storage/storage.js';
import type { CommitQueue } from './commit-queue.js';
import type { DurableConfig } from './durable-config.js';
import { OwnershipParticipant } from './ownership-participant.js';
import type { FiredTimer, TimerKind } from './timer-kind.js';
import { TimerWindow } from './timer-window.js';

/** `ServiceRequest.service` of timer requests. */
export const TIMER_SERVICE = 'timers';

/** What to schedule. */
export interface TimerSpec {
  /** Unique cluster-wide; scheduling an existing id replaces that timer. */
  readonly id: string;
  /** Which partition holds it: `partitionOf("timer/" + key)`. Default: the id. */
  readonly key?: string;
  /** Absolute due time (the hosts' clock, ms); or */
  readonly dueAt?: number;
  /** a delay from now, ms. */
  readonly delayMs?: number;
  /** The registered kind that fires it. */
  readonly kind: string;
  /** Any msgpack-serializable value handed to the kind. */
  readonly payload?: unknown;
}

/** What the timer service needs. */
export interface TimerServiceDeps {
  readonly nodeId: NodeId;
  readonly storage: Storage;
  readonly gate: NodeEntityGate;
  readonly queue: () => CommitQueue;
  readonly config: DurableConfig;
  readonly logger: Logger;
  /** Told the service's context when it starts (the runtime shares it with its gate and queue). */
  readonly onStart?: (ctx: ShardContext) => void;
}

type TimerRequest = { op: 'set'; timer: Omit<DurableTimer, 'partition'> } | { op: 'cancel'; id: string };

/** The durable timer service of one node. */
export class TimerService implements PartitionedService {
  readonly name = TIMER_SERVICE;
  readonly handlers: readonly PartitionHandler[];
  readonly participant: OwnershipParticipant;
  /** Timers fired here, cancelled here, storage reads of the window. */
  readonly stats = { fired: 0, cancelled: 0, loads: 0, failedFirings: 0 };
  private readonly kinds = new Map<string, TimerKind>();
  private readonly window: TimerWindow;
  private ctx: ShardContext | undefined;
  private armed: { at: number; handle: TimerHandle } | undefined;
  private pumping = false;
  private again = false;
  private reloadScheduled = false;
  private stopped = false;

  constructor(private readonly deps: TimerServiceDeps) {
    this.window = new TimerWindow(deps.config.timerWindowMax);
    this.handlers = [{ service: TIMER_SERVICE, ownerOnly: true, isWrite: () => true, handle: (request) => this.serve(request.partition, request.payload) }];
    this.participant = new OwnershipParticipant(TIMER_SERVICE, () => this.ownershipChanged());
  }

  /** Register a kind of timer (before timers of that kind fire). */
  registerKind(kind: TimerKind): void {
    if (this.kinds.has(kind.kind)) throw new FlotillaError('FLO_CONFIG_INVALID', `timer kind ${kind.kind} is registered twice`);
    this.kinds.set(kind.kind, kind);
  }

  start(ctx: ShardContext): void {
    this.ctx = ctx;
    this.deps.onStart?.(ctx);
    this.ownershipChanged();
  }

  stop(): void {
    this.stopped = true;
    this.armed?.handle.cancel();
    this.armed = undefined;
  }

  /** The partition a timer key lives in. */
  partitionOf(key: string): number {
    return partitionOf(`timer/${key}`, this.requireCtx().partitionCount);
  }

  /** Schedule (or replace) a timer on its partition's owner; resolves once it is durable. */
  async schedule(spec: TimerSpec): Promise<void> {
    const ctx = this.requireCtx();
    const dueAt = spec.dueAt ?? ctx.timers.now() + (spec.delayMs ?? 0);
    if (!Number.isSafeInteger(dueAt) || dueAt < 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'a timer needs a non-negative integer dueAt or delayMs');
    const request: TimerRequest = { op: 'set', timer: { id: spec.id, dueAt, kind: spec.kind, payload: encodeValue(spec.payload ?? null) } };
    await ctx.route(TIMER_SERVICE, this.partitionOf(spec.key ?? spec.id), encodeValue(request));
  }

  /** Cancel a timer; resolves true when it was pending (it will not fire), false when it was not. */
  async cancel(id: string, key?: string): Promise<boolean> {
    const ctx = this.requireCtx();
    const reply = await ctx.route(TIMER_SERVICE, this.partitionOf(key ?? id), encodeValue({ op: 'cancel', id } satisfies TimerRequest));
    return reply !== undefined && decodeValue(reply) === true;
  }

  /** A timer was committed on this node by another durable service (a workflow's sleep). */
  noteScheduled(timer: DurableTimer): void {
    this.window.add(timer);
    this.kick();
  }

  /** Timers held in memory now. */
  windowSize(): number {
    return this.window.size();
  }

  private async serve(partition: number, payload: Uint8Array): Promise<Uint8Array> {
    const request = decodeValue(payload) as TimerRequest;
    if (request === null || typeof request !== 'object' || (request.op !== 'set' && request.op !== 'cancel')) {
      throw new FlotillaError('FLO_INVALID_ARGUMENT', 'unreadable timer request');
    }
    const epoch = await this.deps.gate.admit(partition);
    const base = { partition, epoch, writer: this.deps.nodeId };
    if (request.op === 'set') {
      const t = request.timer;
      await this.commitOrThrow({ ...base, timersSet: [t] }, partition, epoch);
      this.noteScheduled({ ...t, payload: new Uint8Array(t.payload), partition });
      return encodeValue(null);
    }
    const result = await this.deps.queue().commit({ ...base, timersDelete: [{ id: request.id, mustExist: true }] });
    if (!result.ok && isFlotillaError(result.error, 'FLO_NOT_FOUND')) return encodeValue(false);
    if (!result.ok) throw this.refused(result.error, partition, epoch);
    this.window.remove(request.id);
    this.stats.cancelled++;
    return encodeValue(true);
  }

  private async commitOrThrow(commit: DurableCommit, partition: number, epoch: number): Promise<void> {
    const result = await this.deps.queue().commit(commit);
    if (!result.ok) throw this.refused(result.error, partition, epoch);
  }

  private refused(error: FlotillaError, partition: number, epoch: number): FlotillaError {
    if (!isFlotillaError(error, 'FLO_STALE_EPOCH')) return error;
    this.deps.gate.deposed(partition, epoch);
    return new FlotillaError('FLO_NOT_OWNER', `timers of partition ${partition}: deposed`, { partition });
  }

  /** Partitions gained or lost: re-read the nearest timers once the burst of changes is over. */
  private ownershipChanged(): void {
    const ctx = this.ctx;
    if (ctx === undefined || this.reloadScheduled) return;
    this.reloadScheduled = true;
    ctx.timers.defer(() => {
      this.reloadScheduled = false;
      this.window.reset();
      this.kick();
    });
  }

  private kick(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  /** Load when needed, fire what is due, then arm the host timer at the next due time. */
  private async pump(): Promise<void> {
    const ctx = this.ctx;
    if (ctx === undefined || this.stopped) return;
    this.pumping = true;
    try {
      do {
        this.again = false;
        if (this.stopped || ctx.stopped()) return;
        if (this.window.needsLoad()) await this.load(ctx);
        const due = this.window.due(ctx.timers.now(), this.deps.config.timerFireBatchMax);
        if (due.length > 0) {
          await Promise.all(due.map((t) => this.fire(t)));
          this.again = true;
        }
      } while (this.again);
      this.arm(ctx, this.window.nextDue());
    } catch (err) {
      this.deps.logger.warn({ err }, 'timers: reading or firing failed; retrying');
      this.window.reset();
      this.arm(ctx, ctx.timers.now() + this.deps.config.timerRetryMs);
    } finally {
      this.pumping = false;
    }
  }

  private async load(ctx: ShardContext): Promise<void> {
    const table = ctx.table();
    const owned = table.version === 0 ? [] : table.partitionsForNode(this.deps.nodeId).owned;
    const limit = this.deps.config.timerWindowMax;
    this.stats.loads++;
    this.window.load(await this.deps.storage.nextTimers(owned, limit), limit);
  }

  private arm(ctx: ShardContext, at: number | undefined): void {
    if (this.armed !== undefined && this.armed.at === at) return;
    this.armed?.handle.cancel();
    this.armed = undefined;
    if (at === undefined || this.stopped) return;
    const handle = ctx.timers.at(at, () => {
      if (this.armed?.handle === handle) this.armed = undefined;
      this.kick();
    });
    this.armed = { at, handle };
  }

  /** Fire one due timer: deliver, then commit its removal with its kind's changes. */
  private async fire(row: DurableTimer): Promise<void> {
    const ctx = this.requireCtx();
    const kind = this.kinds.get(row.kind);
    const timer: FiredTimer = { id: row.id, partition: row.partition, dueAt: row.dueAt, kind: row.kind, payload: decodeValue(row.payload) };
    let epoch: number | undefined;
    try {
      if (kind === undefined) throw new FlotillaError('FLO_CONFIG_INVALID', `no timer kind ${row.kind} is registered on this node`);
      epoch = await this.deps.gate.admit(row.partition);
      await kind.deliver?.(timer);
      const changes = (await kind.changes?.(timer)) ?? {};
      const result = await this.deps.queue().commit({ ...changes, partition: row.partition, epoch, writer: this.deps.nodeId, timersDelete: [{ id: row.id, mustExist: true }] });
      if (!result.ok) throw result.error;
      this.window.remove(row.id);
      this.stats.fired++;
      kind.fired?.(timer, ctx.timers.now());
    } catch (error) {
      if (isFlotillaError(error, 'FLO_NOT_FOUND') || isFlotillaError(error, 'FLO_NOT_OWNER')) {
        this.window.remove(row.id);
        return;
      }
      if (isFlotillaError(error, 'FLO_STALE_EPOCH') && epoch !== undefined) {
        this.deps.gate.deposed(row.partition, epoch);
        this.window.remove(row.id);
        return;
      }
      this.stats.failedFirings++;
      this.deps.logger.warn({ err: error, timer: row.id, kind: row.kind }, 'timers: firing failed; retrying later');
      this.window.postpone(row.id, ctx.timers.now() + this.deps.config.timerRetryMs);
    }
  }

  private requireCtx(): ShardContext {
    if (this.ctx === undefined || this.stopped || this.ctx.stopped()) throw new FlotillaError('FLO_NODE_STOPPED', 'timer service is not running');
    return this.ctx;
  }
}

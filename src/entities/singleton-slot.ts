/**
 * One singleton as this node sees it: whether this node should lead it now (it owns the
 * partition by the table, the partition is not moving out, the node has quorum and was not
 * fenced at this epoch), and the transitions between not leading and leading. A takeover
 * claims the partition's fence at the table's epoch before it reads the record, so a
 * deposed leader can no longer write once the new one has read.
 */
import { FlotillaError, isFlotillaError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { NodeId } from '../core/model.js';
import type { ShardContext } from '../sharding/service.js';
import type { Storage } from '../storage/storage.js';
import type { SingletonDefinition } from './singleton-definition.js';
import { awaitPredecessor } from './singleton-handover.js';
import { SingletonLeader } from './singleton-leader.js';
import { decodeRecord, EMPTY_RECORD, encodeRecord, SINGLETON_RECORD_TYPE, withLeaderAdded } from './singleton-record.js';

/** What a slot needs from its service. */
export interface SlotDeps {
  readonly definition: SingletonDefinition;
  readonly self: NodeId;
  readonly partition: number;
  readonly storage: Storage;
  readonly logger: Logger;
  /** The sharding context, once the service started. */
  ctx(): ShardContext | undefined;
  /** True once the service is stopping: lead nothing. */
  stopping(): boolean;
}

/** One singleton on this node. */
export class SingletonSlot {
  private leaderValue: SingletonLeader | undefined;
  private busy: Promise<void> | undefined;
  /** The newest epoch at which this node found itself fenced (it leads no more at or below it). */
  private deposedAt = -1;
  private readonly listeners = new Set<() => void>();
  /** Leaderships taken and ended on this node. */
  readonly stats = { takeovers: 0, stepDowns: 0 };

  constructor(private readonly deps: SlotDeps) {}

  get name(): string {
    return this.deps.definition.name;
  }

  get partition(): number {
    return this.deps.partition;
  }

  /** The leadership serving now, if this node leads the singleton. */
  get leader(): SingletonLeader | undefined {
    return this.leaderValue?.serving === true ? this.leaderValue : undefined;
  }

  /** The epoch this node should lead at now, or undefined when it should not lead. */
  wantedEpoch(): number | undefined {
    const ctx = this.deps.ctx();
    if (ctx === undefined || ctx.stopped() || this.deps.stopping()) return undefined;
    const table = ctx.table();
    const p = this.deps.partition;
    if (table.version === 0 || table.owner(p) !== this.deps.self || ctx.movingOwnerOut(p) || ctx.readOnly()) return undefined;
    const epoch = table.epoch(p);
    return this.deposedAt >= epoch ? undefined : epoch;
  }

  /** Whether this node runs the singleton's function or is still stopping it. */
  get active(): boolean {
    return this.leaderValue !== undefined;
  }

  /** Start the transition the current state calls for (one at a time). */
  reconcile(): void {
    if (this.busy !== undefined) return;
    const epoch = this.wantedEpoch();
    const leader = this.leaderValue;
    if (leader !== undefined && (leader.epoch !== epoch || !leader.serving)) this.transition(this.stepDown(leader), true);
    else if (leader === undefined && epoch !== undefined) this.transition(this.takeOver(epoch), false);
  }

  /** Resolves once no transition runs (after reconciling once more). */
  async settled(): Promise<void> {
    this.reconcile();
    while (this.busy !== undefined) {
      await this.busy;
      this.reconcile();
    }
  }

  /** Resolves at the next transition's end (used to wait for a leader). */
  changed(): Promise<void> {
    return new Promise((resolve) => {
      const listener = (): void => {
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  /** Called when a wait is given up, so its listener does not linger. */
  forgetListeners(): void {
    for (const l of [...this.listeners]) l();
  }

  private transition(work: Promise<void>, again: boolean): void {
    this.busy = work
      .catch((err: unknown) => this.deps.logger.warn({ singleton: this.name, err }, 'singleton: leadership change failed; retrying at the next check'))
      .finally(() => {
        this.busy = undefined;
        for (const l of [...this.listeners]) l();
        // A step-down may be followed at once by a takeover at a newer epoch; a failed takeover waits for the periodic check.
        if (again) this.reconcile();
      });
  }

  private async takeOver(epoch: number): Promise<void> {
    const { storage, partition, self, definition, logger } = this.deps;
    const ctx = this.deps.ctx();
    if (ctx === undefined) return;
    const before = await storage.loadEntity(SINGLETON_RECORD_TYPE, definition.name);
    const previous = before === undefined ? EMPTY_RECORD : decodeRecord(before.state);
    const wait = { name: definition.name, partition, self, epoch, record: previous, handoverWaitMs: definition.handoverWaitMs, stillWanted: () => this.wantedEpoch() === epoch };
    if ((await awaitPredecessor(ctx, wait)) === 'timed-out') logger.warn({ singleton: definition.name, epoch }, 'singleton: the previous leader did not confirm its stop in time; taking over (its writes are fenced)');
    if (this.wantedEpoch() !== epoch) return;
    try {
      await storage.claimPartition(partition, epoch, self);
    } catch (error) {
      if (isFlotillaError(error, 'FLO_STALE_EPOCH')) return this.deposed(epoch);
      throw error;
    }
    const stored = await storage.loadEntity(SINGLETON_RECORD_TYPE, definition.name);
    if (this.wantedEpoch() !== epoch) return;
    const now = ctx.timers.now();
    const record = withLeaderAdded(stored === undefined ? EMPTY_RECORD : decodeRecord(stored.state), self, epoch, now);
    const [outcome] = await storage.writeEntities([
      { partition, epoch, writer: self, type: SINGLETON_RECORD_TYPE, id: definition.name, state: encodeRecord(record), expectedVersion: stored?.version ?? 0 },
    ]);
    if (outcome === undefined) throw new FlotillaError('FLO_INTERNAL', 'storage answered no result for one write');
    if (!outcome.ok) {
      if (isFlotillaError(outcome.error, 'FLO_STALE_EPOCH')) return this.deposed(epoch);
      throw outcome.error;
    }
    const leader = new SingletonLeader(
      { definition, self, partition, epoch, storage, timers: ctx.timers, logger, onDeposed: (at) => this.deposed(at) },
      record,
      outcome.version,
    );
    this.leaderValue = leader;
    this.stats.takeovers++;
    logger.info({ singleton: definition.name, partition, epoch, counter: record.counter }, 'singleton: leading');
    leader.start();
  }

  private async stepDown(leader: SingletonLeader): Promise<void> {
    await leader.stepDown();
    if (this.leaderValue === leader) this.leaderValue = undefined;
    this.stats.stepDowns++;
    this.deps.logger.info({ singleton: this.name, epoch: leader.epoch }, 'singleton: stopped leading');
  }

  private deposed(epoch: number): void {
    if (epoch > this.deposedAt) {
      this.deposedAt = epoch;
      this.deps.logger.warn({ singleton: this.name, partition: this.deps.partition, epoch }, 'singleton: fenced by a newer owner');
    }
    this.reconcile();
  }
}

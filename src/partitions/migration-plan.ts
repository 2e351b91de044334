/**
 * The master's rebalance in progress: the target layout, the data copies still needed to
 * reach it (in `orderMigrations` wave order), which of them are streaming or copied, and
 * when a partition is ready to commit. A partition commits all of its slot changes at
 * once, when every copy it needs is in place: committing one slot at a time could list a
 * replica holder nowhere for a while (a copy into a slot whose holder only shifts to
 * another index), and its driver would drop data it is about to need again.
 */
import type { Millis } from '../core/clock.js';
import { assert } from '../core/errors.js';
import type { NodeId } from '../core/model.js';
import type { ReplicaRole } from '../protocol/messages.js';
import type { ReplicaAssignment } from './assignment.js';
import type { MigrationInfo } from './coordinator-events.js';
import { orderMigrations } from './migration-order.js';
import type { ClusterPartitionTable } from './partition-table.js';
import { planRebalance } from './rebalance.js';

/** A migration the master has started and not yet finalized or cancelled. */
export interface ActiveMigration extends MigrationInfo {
  readonly startedAt: Millis;
  /** When the master gives up waiting for `MigrateReady`. */
  readonly deadlineAt: Millis;
}

/** Limits and timings of a plan (from `CoordinatorConfig`). */
export interface MigrationPlanOptions {
  readonly parallelPerNodeMax: number;
  readonly inFlightMax: number;
  readonly timeoutMs: number;
  readonly retryDelayMs: number;
  readonly attemptsMax: number;
}

/** What a new target did to the plan. */
export interface ReplanResult {
  /** Partitions that change but need no data copied: commit them now. */
  readonly direct: readonly number[];
  /** Partitions whose every copy is already in place (kept from the old plan): commit them now. */
  readonly committable: readonly number[];
  /** Started migrations the new plan no longer wants: cancel them. */
  readonly cancelled: readonly ActiveMigration[];
}

/** What a failed migration did to its partition. */
export interface FailResult {
  /** Every started migration of the partition, the failed one included: cancel them. */
  readonly cancelled: readonly ActiveMigration[];
  /** The partition reached `attemptsMax` and waits for the next view change. */
  readonly parked: boolean;
}

/** One data copy the target needs. */
interface PlannedStep {
  readonly partition: number;
  readonly wave: number;
  /** The node streaming the data. */
  readonly source: NodeId;
  readonly destination: NodeId;
  readonly role: ReplicaRole;
  readonly epoch: number;
  active: ActiveMigration | undefined;
  ready: boolean;
}

/** A partition whose target needs data copied. */
interface PartitionWork {
  readonly steps: PlannedStep[];
  attempts: number;
  retryAt: Millis | undefined;
}

/** The master's plan: replanned on every view change, advanced by starts, readies and failures. */
export class MigrationPlan {
  private target: readonly ReplicaAssignment[] = [];
  private work = new Map<number, PartitionWork>();
  /** Steps of `work` in wave order, then partition, then replica index. */
  private order: PlannedStep[] = [];
  private readonly byId = new Map<string, PlannedStep>();
  private readonly parkedSet = new Set<number>();

  constructor(private readonly options: MigrationPlanOptions) {}

  /** Partitions still waiting for data. */
  get pendingPartitions(): number {
    return this.work.size;
  }

  /** Migrations started and not yet finalized or cancelled. */
  get inFlight(): number {
    return this.byId.size;
  }

  /** Partitions that ran out of attempts, ascending. */
  parked(): number[] {
    return [...this.parkedSet].sort((a, b) => a - b);
  }

  /** The target entry of `partition`. */
  targetOf(partition: number): ReplicaAssignment {
    const entry = this.target[partition];
    assert(entry !== undefined && entry.partition === partition, `no target for partition ${partition}`);
    return entry;
  }

  /** The started migration with this id. */
  active(migrationId: string): ActiveMigration | undefined {
    return this.byId.get(migrationId)?.active;
  }

  /**
   * Aim at `target` (a full assignment, by partition) from `table`. Started migrations
   * that the new plan also needs (same partition, source, destination and role) carry
   * over with their progress; the others are returned for cancelling. Attempt counts and
   * parked partitions start afresh.
   */
  replan(table: ClusterPartitionTable, target: readonly ReplicaAssignment[]): ReplanResult {
    const previous = [...this.byId.values()];
    this.target = target;
    this.work = new Map();
    this.order = [];
    this.byId.clear();
    this.parkedSet.clear();
    const touched = new Set<number>();
    const waves = orderMigrations(planRebalance(table.toData(), target), { parallelPerNodeMax: this.options.parallelPerNodeMax });
    for (const wave of waves) {
      for (const move of wave) {
        touched.add(move.partition);
        if (!move.needsData || move.dataSource === undefined || move.destination === undefined) continue;
        const ownerChanges = this.targetOf(move.partition).owner !== table.owner(move.partition);
        const step: PlannedStep = {
          partition: move.partition,
          wave: move.wave,
          source: move.dataSource,
          destination: move.destination,
          role: move.replicaIndex === 0 ? 'owner' : 'backup',
          epoch: table.epoch(move.partition) + (ownerChanges ? 1 : 0),
          active: undefined,
          ready: false,
        };
        this.workOf(move.partition).steps.push(step);
        this.order.push(step);
      }
    }
    const cancelled = this.carryOver(previous);
    const direct = [...touched].filter((p) => !this.work.has(p)).sort((a, b) => a - b);
    const committable = [...this.work.entries()].filter(([, w]) => w.steps.every((s) => s.ready)).map(([p]) => p);
    return { direct, committable, cancelled };
  }

  /**
   * Start what may start now: steps in wave order whose partition is not waiting out a
   * retry, whose earlier-wave steps in the same partition are copied, and whose source
   * and destination stream fewer than `parallelPerNodeMax` migrations; at most
   * `inFlightMax` started in all.
   */
  start(now: Millis, tableVersion: number, nextId: () => string): ActiveMigration[] {
    const streaming = new Map<NodeId, number>();
    const bump = (node: NodeId): void => void streaming.set(node, (streaming.get(node) ?? 0) + 1);
    const busy = (node: NodeId): boolean => (streaming.get(node) ?? 0) >= this.options.parallelPerNodeMax;
    for (const step of this.byId.values()) {
      if (step.ready) continue;
      bump(step.source);
      bump(step.destination);
    }
    // A passed retry time is spent, so that `nextDeadline` never names the past.
    for (const work of this.work.values()) if (work.retryAt !== undefined && work.retryAt <= now) work.retryAt = undefined;
    const started: ActiveMigration[] = [];
    for (const step of this.order) {
      if (this.byId.size >= this.options.inFlightMax) break;
      if (step.active !== undefined || busy(step.source) || busy(step.destination)) continue;
      const work = this.work.get(step.partition)!;
      if (work.retryAt !== undefined) continue;
      if (work.steps.some((s) => s.wave < step.wave && !s.ready)) continue;
      bump(step.source);
      bump(step.destination);
      step.active = {
        migrationId: nextId(),
        partition: step.partition,
        source: step.source,
        destination: step.destination,
        role: step.role,
        epoch: step.epoch,
        tableVersion,
        startedAt: now,
        deadlineAt: now + this.options.timeoutMs,
      };
      this.byId.set(step.active.migrationId, step);
      started.push(step.active);
    }
    return started;
  }

  /**
   * `from` reports the migration copied. Returns it and whether its partition now has
   * every copy in place; undefined (ignore the report) when the id is unknown, already
   * copied, or `from` is not its destination.
   */
  markReady(migrationId: string, from: NodeId): { readonly migration: ActiveMigration; readonly commit: boolean } | undefined {
    const step = this.byId.get(migrationId);
    if (step === undefined || step.ready || step.destination !== from) return undefined;
    step.ready = true;
    const work = this.work.get(step.partition)!;
    return { migration: step.active!, commit: work.steps.every((s) => s.ready) };
  }

  /** True when started migration `migrationId` has reported its copy ready. */
  isReady(migrationId: string): boolean {
    return this.byId.get(migrationId)?.ready === true;
  }

  /** True when `partition` waits for data and every copy it needs is in place. */
  committable(partition: number): boolean {
    return this.work.get(partition)?.steps.every((s) => s.ready) === true;
  }

  /** The partition is being committed: forget it; returns its migrations (to finalize). */
  complete(partition: number): ActiveMigration[] {
    const work = this.work.get(partition);
    if (work === undefined) return [];
    const done = work.steps.map((s) => s.active).filter((a): a is ActiveMigration => a !== undefined);
    for (const a of done) this.byId.delete(a.migrationId);
    this.work.delete(partition);
    this.order = this.order.filter((s) => s.partition !== partition);
    return done;
  }

  /**
   * A migration failed or timed out: every started migration of its partition is called
   * off (a partition commits all at once, so a half-copied one cannot), and the partition
   * retries after `retryDelayMs`, or is parked after `attemptsMax` failures. Undefined
   * for an unknown id.
   */
  fail(migrationId: string, now: Millis): FailResult | undefined {
    const step = this.byId.get(migrationId);
    if (step === undefined) return undefined;
    const work = this.work.get(step.partition)!;
    const cancelled: ActiveMigration[] = [];
    for (const s of work.steps) {
      if (s.active === undefined) continue;
      cancelled.push(s.active);
      this.byId.delete(s.active.migrationId);
      s.active = undefined;
      s.ready = false;
    }
    work.attempts++;
    if (work.attempts >= this.options.attemptsMax) {
      this.work.delete(step.partition);
      this.order = this.order.filter((s) => s.partition !== step.partition);
      this.parkedSet.add(step.partition);
      return { cancelled, parked: true };
    }
    work.retryAt = now + this.options.retryDelayMs;
    return { cancelled, parked: false };
  }

  /** Ids of started migrations that `nodeId` streams or receives. */
  involving(nodeId: NodeId): string[] {
    const ids: string[] = [];
    for (const [id, step] of this.byId) if (step.active!.source === nodeId || step.active!.destination === nodeId) ids.push(id);
    return ids;
  }

  /** Ids of streaming migrations whose deadline has passed. */
  expired(now: Millis): string[] {
    const ids: string[] = [];
    for (const [id, step] of this.byId) if (!step.ready && step.active!.deadlineAt <= now) ids.push(id);
    return ids;
  }

  /** Earliest migration deadline or retry time, if any. */
  nextDeadline(): Millis | undefined {
    let next: Millis | undefined;
    const consider = (at: Millis): void => {
      if (next === undefined || at < next) next = at;
    };
    for (const step of this.byId.values()) if (!step.ready) consider(step.active!.deadlineAt);
    for (const work of this.work.values()) if (work.retryAt !== undefined) consider(work.retryAt);
    return next;
  }

  /** Drop everything (this node is no longer the master); returns the started migrations. */
  abandon(): ActiveMigration[] {
    const started = [...this.byId.values()].map((s) => s.active!);
    this.work = new Map();
    this.order = [];
    this.byId.clear();
    this.parkedSet.clear();
    return started;
  }

  private workOf(partition: number): PartitionWork {
    let work = this.work.get(partition);
    if (work === undefined) {
      work = { steps: [], attempts: 0, retryAt: undefined };
      this.work.set(partition, work);
    }
    return work;
  }

  /** Rebind old started steps to matching new ones; return the unmatched. */
  private carryOver(previous: readonly PlannedStep[]): ActiveMigration[] {
    const cancelled: ActiveMigration[] = [];
    for (const old of previous) {
      const match = this.work
        .get(old.partition)
        ?.steps.find((s) => s.active === undefined && s.source === old.source && s.destination === old.destination && s.role === old.role);
      if (match === undefined) {
        cancelled.push(old.active!);
        continue;
      }
      match.active = old.active;
      match.ready = old.ready;
      this.byId.set(old.active!.migrationId, match);
    }
    return cancelled;
  }
}

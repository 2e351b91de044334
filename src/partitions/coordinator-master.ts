/**
 * The master's side of the partition coordinator. On taking over it first learns the
 * newest table any member holds (a handover sync), then on every members view change it
 * fails over the partitions of departed owners at once, computes the balanced target,
 * and runs the data copies the target needs, committing each partition when its copies
 * are in place and publishing every new table version to all members.
 */
import type { Millis } from '../core/clock.js';
import { assert } from '../core/errors.js';
import type { NodeId, PartitionTableData } from '../core/model.js';
import { murmur3Utf8 } from '../core/murmur3.js';
import type { MigrateCancel, MigrateQuery, MigrateReady, MigrateStart, PartitionTableUpdate } from '../protocol/messages.js';
import { computeAssignment, NO_OWNER, PLACEMENT_NONE, PLACEMENT_TAG, type AssignableMember, type ReplicaAssignment } from './assignment.js';
import type { CoordinatorContext } from './coordinator-context.js';
import type { MigrationOutcome } from './migration-history.js';
import { MigrationPlan, type ActiveMigration } from './migration-plan.js';
import { MigrationVerdicts } from './migration-verdicts.js';
import { HandoverSync } from './coordinator-handover.js';

/** A new master first syncs tables with the members, then acts. */
export type MasterPhase = 'syncing' | 'active';

/** Reason sent with a cancel when a migration's partition changed target. */
export const PLAN_CHANGED_REASON = 'plan changed';
/** Reason sent with a cancel when a migration's source or destination left the view. */
export const PARTICIPANT_LEFT_REASON = 'participant left';
/** Reason sent to a destination that reports ready a migration the master does not run. */
export const UNKNOWN_MIGRATION_REASON = 'unknown migration';
/** Reason sent with a cancel when a participant's partition state started over (a merge). */
export const PARTICIPANT_RESTARTED_REASON = 'participant started over';
/** Reason recorded when the master times a migration out. */
export const TIMED_OUT_REASON = 'timed out';

/** A node id short and plain enough to prefix migration ids with; others are hashed. */
const plainIdPattern = /^[\x21-\x7e]{1,64}$/;

/** The master duties of one mastership: created when this node becomes master, dropped when it stops. */
export class MasterDuties {
  private phaseValue: MasterPhase = 'syncing';
  private readonly sync: HandoverSync;
  private readonly plan: MigrationPlan;
  /** Unique to this mastership: the node and the view version it took over at. */
  private readonly idPrefix: string;
  private migrationSeq = 0;
  private lastPublishedVersion = -1;
  /** Members that have been sent the table by this mastership (a broadcast or a welcome). */
  private informed = new Set<NodeId>();
  /** Partitions with every copy in place, committed together at `commitDueAt`. */
  private commitQueue: number[] = [];
  private commitDueAt: Millis | undefined;
  /** How this mastership's finished migrations ended, for participants that ask. */
  private readonly verdicts = new MigrationVerdicts();

  constructor(
    private readonly ctx: CoordinatorContext,
    now: Millis,
  ) {
    const c = ctx.config;
    this.plan = new MigrationPlan({
      parallelPerNodeMax: c.migrationsParallelPerNodeMax,
      inFlightMax: c.migrationsInFlightMax,
      timeoutMs: c.migrationTimeoutMs,
      retryDelayMs: c.migrationRetryDelayMs,
      attemptsMax: c.migrationAttemptsMax,
    });
    const nodePart = plainIdPattern.test(ctx.self) ? ctx.self : `h${murmur3Utf8(ctx.self).toString(16)}`;
    this.idPrefix = `${nodePart}/${ctx.view().version}`;
    this.sync = new HandoverSync(ctx, now);
    if (this.sync.done) this.finishSync(now);
  }

  /** Syncing tables after taking over, or acting. */
  get phase(): MasterPhase {
    return this.phaseValue;
  }

  /** Progress of the current plan. */
  progress(): { pendingPartitions: number; parkedPartitions: number[]; migrationsInFlight: number } {
    return { pendingPartitions: this.plan.pendingPartitions, parkedPartitions: this.plan.parked(), migrationsInFlight: this.plan.inFlight };
  }

  /** The members view changed (this node is still its master). */
  onViewChanged(now: Millis): void {
    if (this.phaseValue === 'syncing') {
      if (this.sync.onViewChanged((id) => this.isLive(id))) this.finishSync(now);
      return;
    }
    this.reconcile(now);
  }

  /** A member asks for a table newer than `knownVersion` (or, while syncing, answers ours). */
  onFetch(from: NodeId, knownVersion: number, now: Millis): void {
    if (this.phaseValue === 'syncing') {
      if (this.sync.onAnswer(from)) this.finishSync(now);
      return;
    }
    // A member ahead of the master holds a table of another lineage (it followed another
    // master for a while): it must see this one to find out and hand its data over.
    if (this.ctx.table.version !== knownVersion) {
      this.ctx.send(from, { type: 'PartitionTableUpdate', table: this.ctx.table.toData(), completedMigrations: [] });
    }
  }

  /**
   * While syncing, a member's table is taken if newer: its answer to the handover fetch,
   * or a publish of the old master it passes on. Only its acknowledgement (a
   * `FetchPartitionTable`, which follows its table on the same link) ends its part of the
   * sync. False when not syncing.
   */
  onMemberTable(table: PartitionTableData): boolean {
    if (this.phaseValue !== 'syncing') return false;
    this.ctx.adoptTable(table);
    return true;
  }

  /**
   * A node that merged into this cluster, or left another table lineage for this one,
   * reports the table it held there: raise every epoch that does not beat it, and
   * publish. Its partition state started over, so the migrations it took part in are
   * gone on its side: call them off now rather than at their timeout. `from` is
   * undefined for this node's own report. Ignored while syncing (it re-reports).
   */
  onMergedTable(from: NodeId | undefined, table: PartitionTableData, now: Millis): void {
    if (this.phaseValue !== 'active') return;
    if (from !== undefined) {
      for (const id of this.plan.involving(from)) {
        if (this.plan.active(id) !== undefined) this.failPartition(id, 'failed', PARTICIPANT_RESTARTED_REASON, now);
      }
    }
    const change = this.ctx.changeTable((t) => t.raiseEpochsAbove(table), this.idPrefix);
    if (change.changed) this.publish([]);
    if (from !== undefined) this.startMigrations(now);
  }

  /** The destination reports a migration copied. */
  onReady(from: NodeId, msg: MigrateReady, now: Millis): void {
    const known = this.plan.active(msg.migrationId);
    const ready = known?.partition === msg.partition ? this.plan.markReady(msg.migrationId, from) : undefined;
    if (ready === undefined) {
      this.ctx.counters.unknownMigrations++;
      // Not one of this mastership's migrations: make sure the destination lets go of it.
      if (known === undefined) {
        this.ctx.send(from, { type: 'MigrateCancel', migrationId: msg.migrationId, partition: msg.partition, reason: UNKNOWN_MIGRATION_REASON });
      }
      return;
    }
    this.ctx.history.markReady('master', msg.migrationId);
    if (ready.commit) {
      this.commitQueue.push(msg.partition);
      this.commitDueAt ??= now + this.ctx.config.commitCoalesceMs;
    }
    this.startMigrations(now);
  }

  /**
   * A participant waiting for its order asks about a migration. Over: it hears the verdict
   * and this table's version. Running: no answer, but a ready destination's question counts
   * as its `MigrateReady`, which may have been lost. Syncing: no answer; it asks again.
   */
  onQuery(from: NodeId, msg: MigrateQuery, now: Millis): void {
    if (this.phaseValue !== 'active') return;
    const active = this.plan.active(msg.migrationId);
    if (active === undefined) {
      const verdict = this.verdicts.verdictOf(msg.migrationId);
      this.ctx.send(from, { type: 'MigrateStatus', migrationId: msg.migrationId, partition: msg.partition, verdict, tableVersion: this.ctx.table.version });
    } else if (msg.ready && active.destination === from && active.partition === msg.partition && !this.plan.isReady(msg.migrationId)) {
      this.onReady(from, { type: 'MigrateReady', migrationId: msg.migrationId, partition: msg.partition, lastSeq: 0 }, now);
    }
  }

  /** A participant reports that its side of a migration failed. */
  onCancel(from: NodeId, msg: MigrateCancel, now: Millis): void {
    const active = this.plan.active(msg.migrationId);
    if (active === undefined || (from !== active.source && from !== active.destination)) {
      this.ctx.counters.unknownMigrations++;
      return;
    }
    this.failPartition(msg.migrationId, 'failed', msg.reason.length > 0 ? msg.reason : 'participant failed', now);
    this.startMigrations(now);
  }

  /** Sync deadline, due commits, migration timeouts and retries. */
  tick(now: Millis): void {
    if (this.phaseValue === 'syncing') {
      if (this.sync.tick(now)) this.finishSync(now);
      return;
    }
    if (this.commitDueAt !== undefined && now >= this.commitDueAt) {
      // A failure since it was queued may have reopened a partition: commit only those still complete.
      const due = [...new Set(this.commitQueue)].filter((p) => this.plan.committable(p)).sort((a, b) => a - b);
      this.commitQueue = [];
      this.commitDueAt = undefined;
      if (due.length > 0) this.commitPartitions(due, now);
    }
    for (const id of this.plan.expired(now)) {
      // A sibling's timeout earlier in this loop may already have called this one off.
      if (this.plan.active(id) !== undefined) this.failPartition(id, 'timed-out', TIMED_OUT_REASON, now);
    }
    this.startMigrations(now);
  }

  /** When `tick` has work next. */
  nextDeadline(): Millis | undefined {
    if (this.phaseValue === 'syncing') return this.sync.nextDeadline();
    const planned = this.plan.nextDeadline();
    if (this.commitDueAt === undefined) return planned;
    return planned === undefined ? this.commitDueAt : Math.min(planned, this.commitDueAt);
  }

  /**
   * This node is no longer the master: drop the plan. No cancels are sent: every member
   * sees the same master change and settles its side against the next master's table.
   */
  abandon(now: Millis): void {
    for (const a of this.plan.abandon()) this.ctx.history.finish('master', a.migrationId, 'abandoned', now, 'no longer master');
  }

  private finishSync(now: Millis): void {
    this.phaseValue = 'active';
    // Members behind the newest table, or holding orphans of the old master, need it even if
    // nothing changes; reconcile sends it to everyone not yet sent a table by this mastership.
    this.reconcile(now);
  }

  /** Failover, then aim at the balanced target from the current table. */
  private reconcile(now: Millis): void {
    // The replan below reports every still-wanted, fully copied partition as committable.
    this.commitQueue = [];
    this.commitDueAt = undefined;
    this.failover();
    const placement = this.placementMembers();
    if (placement.length === 0) return;
    const { partitionCount, backupCount } = this.ctx.config;
    const target = computeAssignment(placement, partitionCount, backupCount, this.ctx.table.toData());
    const result = this.plan.replan(this.ctx.table, target);
    for (const a of result.cancelled) {
      const reason = this.isLive(a.source) && this.isLive(a.destination) ? PLAN_CHANGED_REASON : PARTICIPANT_LEFT_REASON;
      this.cancelBoth(a, reason, 'cancelled', now);
    }
    if (result.direct.length > 0) this.commit(result.direct, []);
    if (result.committable.length > 0) this.commitPartitions(result.committable, now);
    // Before any MigrateStart, so a member settles the old master's migrations first.
    this.welcomeNewcomers();
    this.startMigrations(now);
  }

  /** Members new to the view get the table now rather than at the next publish or their next fetch. */
  private welcomeNewcomers(): void {
    if (this.ctx.table.version === 0) return;
    let update: PartitionTableUpdate | undefined;
    for (const m of this.ctx.view().members()) {
      if (m.status === 'dead' || m.nodeId === this.ctx.self || this.informed.has(m.nodeId)) continue;
      update ??= tableUpdate(this.ctx.table.toData(), []);
      this.ctx.send(m.nodeId, update);
      this.informed.add(m.nodeId);
    }
  }

  /** Promote the first live backup of every partition whose owner left; publish at once. */
  private failover(): void {
    const gone = new Set<NodeId>();
    for (const a of this.ctx.table.assignments()) {
      if (a.owner !== NO_OWNER && !this.isLive(a.owner)) gone.add(a.owner);
      for (const b of a.backups) if (!this.isLive(b)) gone.add(b);
    }
    if (gone.size === 0) return;
    const change = this.ctx.changeTable((t) => t.promoteBackups(gone, this.ctx.epochFloorOf), this.idPrefix);
    if (change.changed) this.publish([]);
  }

  /**
   * Members partitions are placed on: active and suspect ones. A suspect keeps what it
   * holds (suspicion is often a blip, and moving its data away costs more than waiting for
   * the master's verdict); leaving members, and members tagged `placement=none`, are
   * drained (none left: the table stays as it is); dead ones were failed over.
   */
  private placementMembers(): AssignableMember[] {
    const out: AssignableMember[] = [];
    for (const m of this.ctx.view().members()) {
      if ((m.status === 'active' || m.status === 'suspect') && m.tags[PLACEMENT_TAG] !== PLACEMENT_NONE) out.push({ nodeId: m.nodeId, tags: m.tags });
    }
    return out;
  }

  private isLive(nodeId: NodeId): boolean {
    const member = this.ctx.view().member(nodeId);
    return member !== undefined && member.status !== 'dead';
  }

  private startMigrations(now: Millis): void {
    const table = this.ctx.table;
    const started = this.plan.start(now, table.version, () => `${this.idPrefix}.${(++this.migrationSeq).toString(36)}`);
    for (const a of started) {
      this.ctx.counters.migrationsStarted++;
      this.ctx.history.start({ ...a, perspective: 'master', startedAt: now });
      const msg: MigrateStart = {
        type: 'MigrateStart',
        migrationId: a.migrationId,
        partition: a.partition,
        source: a.source,
        destination: a.destination,
        role: a.role,
        epoch: a.epoch,
        tableVersion: a.tableVersion,
      };
      this.ctx.send(a.source, msg);
      this.ctx.send(a.destination, msg);
    }
  }

  /** Commit partitions whose copies are all in place, publish, and finalize their migrations. */
  private commitPartitions(partitions: readonly number[], now: Millis): void {
    const done = partitions.flatMap((p) => this.plan.complete(p));
    this.commit(partitions, done.map((a) => a.migrationId));
    for (const a of done) {
      const epoch = this.ctx.table.epoch(a.partition);
      const msg = { type: 'MigrateFinalize', migrationId: a.migrationId, partition: a.partition, epoch } as const;
      this.ctx.send(a.source, msg);
      this.ctx.send(a.destination, msg);
      this.ctx.history.finish('master', a.migrationId, 'completed', now);
      this.verdicts.record(a.migrationId, 'committed');
      this.ctx.counters.migrationsCompleted++;
    }
  }

  /** Give `partitions` their target entries in one new table version and publish it. */
  private commit(partitions: readonly number[], completedMigrations: readonly string[]): void {
    const entries: ReplicaAssignment[] = this.ctx.table.assignments();
    for (const p of partitions) entries[p] = this.plan.targetOf(p);
    const change = this.ctx.changeTable((t) => t.applyAssignments(entries, this.ctx.config.epochFloor, this.ctx.epochFloorOf), this.idPrefix);
    assert(change.changed, `committing partitions ${partitions.join(',')} changed nothing`);
    this.publish(completedMigrations);
  }

  private failPartition(migrationId: string, outcome: MigrationOutcome, reason: string, now: Millis): void {
    const result = this.plan.fail(migrationId, now);
    assert(result !== undefined, `failing unknown migration ${migrationId}`);
    for (const a of result.cancelled) {
      const own = a.migrationId === migrationId;
      this.cancelBoth(a, own ? reason : `sibling ${migrationId}: ${reason}`, own ? outcome : 'cancelled', now);
    }
    if (outcome === 'timed-out') this.ctx.counters.migrationsTimedOut++;
    if (outcome === 'failed') this.ctx.counters.migrationsFailed++;
    if (result.parked) this.ctx.counters.partitionsParked++;
  }

  /** Tell both live participants to call the migration off; the table keeps the old layout for it. */
  private cancelBoth(a: ActiveMigration, reason: string, outcome: MigrationOutcome, now: Millis): void {
    const msg = { type: 'MigrateCancel', migrationId: a.migrationId, partition: a.partition, reason } as const;
    if (this.isLive(a.source)) this.ctx.send(a.source, msg);
    if (this.isLive(a.destination)) this.ctx.send(a.destination, msg);
    this.ctx.history.finish('master', a.migrationId, outcome, now, reason);
    this.verdicts.record(a.migrationId, 'cancelled');
    if (outcome === 'cancelled') this.ctx.counters.migrationsCancelled++;
  }

  /** Publish the current table to every live member: a new version each time. */
  private publish(completedMigrations: readonly string[]): void {
    const data = this.ctx.table.toData();
    assert(data.version > this.lastPublishedVersion, `published version ${data.version} after ${this.lastPublishedVersion}`);
    for (const { partition, owner } of data.assignments) {
      assert(owner === NO_OWNER || this.isLive(owner), `partition ${partition} published with departed owner ${owner}`);
    }
    this.lastPublishedVersion = data.version;
    this.ctx.counters.tablesPublished++;
    this.broadcast(completedMigrations, data);
  }

  private broadcast(completedMigrations: readonly string[], data: PartitionTableData = this.ctx.table.toData()): void {
    const informed = new Set<NodeId>();
    // One frozen message for every member: a large cluster's publish is a thousand sends,
    // and the transport encodes a frozen message once.
    const update = tableUpdate(data, completedMigrations);
    for (const m of this.ctx.view().members()) {
      if (m.status === 'dead' || m.nodeId === this.ctx.self) continue;
      this.ctx.send(m.nodeId, update);
      informed.add(m.nodeId);
    }
    this.informed = informed;
  }
}

/**
 * A table update frozen to the leaves (the table's data form already is), so that it may
 * be shared by every send and encoded once.
 */
function tableUpdate(table: PartitionTableData, completedMigrations: readonly string[]): PartitionTableUpdate {
  return Object.freeze({ type: 'PartitionTableUpdate', table, completedMigrations: Object.freeze([...completedMigrations]) });
}

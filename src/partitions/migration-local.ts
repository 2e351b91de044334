/**
 * A node's own side of the migrations it takes part in, as source or destination: what
 * the master started here, which the driver has copied, and what happens to them when
 * the master that started them is replaced (they are orphaned, then resolved against the
 * new master's table: finalized if it lists the destination in its new role, else
 * cancelled), and what a participant still waiting for its order asks the master.
 */
import type { Millis } from '../core/clock.js';
import type { NodeId } from '../core/model.js';
import type { MigrateStart, MigrateStatus } from '../protocol/messages.js';
import type {
  MigrationCancelEvent,
  MigrationFinalizeEvent,
  MigrationInfo,
  MigrationSide,
  MigrationStartEvent,
  PartitionEvent,
} from './coordinator-events.js';
import type { MigrationHistory, MigrationOutcome } from './migration-history.js';
import type { ClusterPartitionTable } from './partition-table.js';

/** Reason given when a master change leaves a migration behind and the new table does not complete it. */
export const MASTER_CHANGED_REASON = 'master changed';

/** Reason given when an incoming copy never became ready and the master must have given up on it. */
export const STALE_REASON = 'never became ready; the master has given up on it';

/** Reason given when the master, asked, says it cancelled the migration (its `MigrateCancel` was lost). */
export const CANCELLED_REASON = 'the master reports it cancelled';

/** Reason given when the master no longer runs a copy that never became ready here. */
export const GONE_REASON = 'the master no longer runs it, and it never became ready';

/** Reason given when the master no longer runs the migration and its table does not show it committed. */
export const MOVED_ON_REASON = 'over at the master; its table does not hold the copy';

/** One migration this node takes part in. */
export interface LocalMigration {
  readonly info: MigrationInfo;
  readonly side: MigrationSide;
  state: 'running' | 'ready' | 'orphaned';
  orphanDeadlineAt: Millis | undefined;
  readonly startedAt: Millis;
  /** When to ask the master about it next; see `dueQueries`. */
  queryAt: Millis;
  /** The master said it no longer runs it: settle against its table from this version on. */
  settleAtVersion: number | undefined;
}

/** Why a `MigrateStart` was not taken. */
export type StartRefusal = 'duplicate' | 'full' | 'not-participant';

/** The local migrations of one node, at most `localMigrationsMax` of them. */
export class LocalMigrations {
  private readonly byId = new Map<string, LocalMigration>();

  /**
   * @param staleAfterMs how long an incoming copy may stay short of ready before it is
   *   called off here: the master times a copy out after its `migrationTimeoutMs`, and can
   *   only commit a copy that reported ready, so past this (a little longer) its cancel
   *   was lost on the way.
   * @param queryIntervalMs how long a migration goes on here (or waits, ready) before
   *   this node asks the master about it, and again after each question.
   */
  constructor(
    private readonly self: NodeId,
    private readonly localMigrationsMax: number,
    private readonly history: MigrationHistory,
    private readonly staleAfterMs: number,
    private readonly queryIntervalMs: number,
  ) {}

  /** Migrations this node takes part in now. */
  get size(): number {
    return this.byId.size;
  }

  /** The local migration with this id. */
  get(migrationId: string): LocalMigration | undefined {
    return this.byId.get(migrationId);
  }

  /** Take a `MigrateStart` from the current master; the event for the driver, or why not. */
  start(msg: MigrateStart, now: Millis): MigrationStartEvent | StartRefusal {
    if (this.byId.has(msg.migrationId)) return 'duplicate';
    const side: MigrationSide | undefined = msg.destination === this.self ? 'destination' : msg.source === this.self ? 'source' : undefined;
    if (side === undefined) return 'not-participant';
    if (this.byId.size >= this.localMigrationsMax) return 'full';
    const info: MigrationInfo = {
      migrationId: msg.migrationId,
      partition: msg.partition,
      source: msg.source,
      destination: msg.destination,
      role: msg.role,
      epoch: msg.epoch,
      tableVersion: msg.tableVersion,
    };
    const queryAt = now + this.queryIntervalMs;
    this.byId.set(info.migrationId, { info, side, state: 'running', orphanDeadlineAt: undefined, startedAt: now, queryAt, settleAtVersion: undefined });
    this.history.start({ ...info, perspective: side, startedAt: now });
    return { type: 'MigrationStart', migration: info, localRole: side };
  }

  /** The driver has copied an incoming migration; returns it when it was a running destination. */
  markReady(migrationId: string, now: Millis): LocalMigration | undefined {
    const local = this.byId.get(migrationId);
    if (local === undefined || local.side !== 'destination' || local.state !== 'running') return undefined;
    local.state = 'ready';
    local.queryAt = now + this.queryIntervalMs;
    this.history.markReady(local.side, migrationId);
    return local;
  }

  /** The migration committed under `epoch`. */
  finalize(migrationId: string, epoch: number, now: Millis): MigrationFinalizeEvent | undefined {
    const local = this.remove(migrationId, 'completed', now);
    if (local === undefined) return undefined;
    return { type: 'MigrationFinalize', migration: local.info, localRole: local.side, epoch };
  }

  /** The migration is called off. */
  cancel(migrationId: string, reason: string, now: Millis): MigrationCancelEvent | undefined {
    const local = this.remove(migrationId, 'cancelled', now, reason);
    if (local === undefined) return undefined;
    return { type: 'MigrationCancel', migration: local.info, localRole: local.side, reason };
  }

  /** The driver gave up on it; forget it without an event (the driver knows). */
  fail(migrationId: string, reason: string, now: Millis): LocalMigration | undefined {
    return this.remove(migrationId, 'failed', now, reason);
  }

  /** Finalize the local migrations among `completed` (ids a table update says committed). */
  completed(completed: readonly string[], table: ClusterPartitionTable, now: Millis): PartitionEvent[] {
    const events: PartitionEvent[] = [];
    for (const id of completed) {
      const local = this.byId.get(id);
      if (local === undefined) continue;
      const event = this.finalize(id, table.epoch(local.info.partition), now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * Finalize the migrations that a table from the current master shows committed (the
   * destination holds the migration's role), though their `MigrateFinalize` never
   * arrived: the master sends it once, and a cut or a stall can lose it. Only the commit
   * gives the destination that role, and the master commits only copies that reported
   * ready, so an incoming copy here must be ready.
   */
  settleCommitted(table: ClusterPartitionTable, now: Millis): PartitionEvent[] {
    const events: PartitionEvent[] = [];
    for (const [id, local] of [...this.byId]) {
      if (local.state === 'orphaned' || (local.side === 'destination' && local.state !== 'ready')) continue;
      if (!holdsRole(table, local.info)) continue;
      const event = this.finalize(id, table.epoch(local.info.partition), now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * Call off incoming copies that are still short of ready `staleAfterMs` after they
   * started (see the constructor). Calling off an incoming copy loses nothing: the source
   * keeps everything, and the master cannot commit a copy that never reported ready.
   */
  expireStale(now: Millis): MigrationCancelEvent[] {
    const events: MigrationCancelEvent[] = [];
    for (const [id, local] of [...this.byId]) {
      if (local.side !== 'destination' || local.state !== 'running' || now < local.startedAt + this.staleAfterMs) continue;
      const event = this.cancel(id, STALE_REASON, now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * Migrations still here `queryIntervalMs` after they started (a destination: after it
   * became ready), or after their last question: ask the master that started them
   * (`MigrateQuery`), whose order may have been lost. Asked again every interval.
   */
  dueQueries(now: Millis): LocalMigration[] {
    const due: LocalMigration[] = [];
    for (const local of this.byId.values()) {
      if (local.state === 'orphaned' || local.queryAt > now) continue;
      local.queryAt = now + this.queryIntervalMs;
      due.push(local);
    }
    return due;
  }

  /**
   * The master's answer about a migration it no longer runs. A copy here that never
   * became ready cannot have committed (the master commits only copies that reported
   * ready): call it off whatever the verdict, as `expireStale` would later. `cancelled`:
   * its `MigrateCancel` was lost, call it off. `committed` or `unknown`: any commit is in the
   * master's table of version `tableVersion` or an older one, so settle from a table of
   * the master at least that new (`settleAnswered`; the caller fetches one if this node is
   * behind). A table here newer than the master's at the time of its answer is another
   * lineage's (the node finds out and starts over): the answer is not used.
   */
  onStatus(msg: MigrateStatus, table: ClusterPartitionTable, now: Millis): PartitionEvent[] {
    const local = this.byId.get(msg.migrationId);
    if (local === undefined || local.state === 'orphaned' || local.info.partition !== msg.partition) return [];
    const running = local.side === 'destination' && local.state === 'running';
    if (running || msg.verdict === 'cancelled') {
      const event = this.cancel(msg.migrationId, running ? GONE_REASON : CANCELLED_REASON, now);
      return event === undefined ? [] : [event];
    }
    if (table.version > msg.tableVersion) return [];
    local.settleAtVersion = msg.tableVersion;
    return this.settleAnswered(table, now);
  }

  /**
   * Settle the migrations the master said it no longer runs, once `table` (the master's)
   * is at least as new as its answer: finalized when the table gives the destination the
   * migration's role, else called off, as orphans are after a master change. The table
   * contains any commit of the migration, so one that does not name this node moved the
   * partition on as it moves any replica; the driver keeps the data of a partition the
   * table names this node owner or backup of. An older table could miss the commit while
   * the source, finalized, dropped its own copy: hence the version.
   */
  settleAnswered(table: ClusterPartitionTable, now: Millis): PartitionEvent[] {
    const events: PartitionEvent[] = [];
    for (const [id, local] of [...this.byId]) {
      if (local.settleAtVersion === undefined || local.state === 'orphaned' || table.version < local.settleAtVersion) continue;
      const event = holdsRole(table, local.info) ? this.finalize(id, table.epoch(local.info.partition), now) : this.cancel(id, MOVED_ON_REASON, now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * The master changed: every migration becomes an orphan until `deadlineAt` (even one
   * started by the new master, which can only date from an earlier mastership of it).
   * The old master's answers no longer count: the new master's table settles orphans.
   */
  orphanAll(deadlineAt: Millis): void {
    for (const local of this.byId.values()) {
      if (local.state === 'orphaned') continue;
      local.state = 'orphaned';
      local.orphanDeadlineAt = deadlineAt;
      local.settleAtVersion = undefined;
    }
  }

  /**
   * Settle orphans against the current master's table: finalized when it lists the
   * destination in the migration's role (the old master committed it), else cancelled.
   */
  resolveOrphans(table: ClusterPartitionTable, now: Millis): PartitionEvent[] {
    const events: PartitionEvent[] = [];
    for (const [id, local] of [...this.byId]) {
      if (local.state !== 'orphaned') continue;
      const partition = local.info.partition;
      const event = holdsRole(table, local.info) ? this.finalize(id, table.epoch(partition), now) : this.cancel(id, MASTER_CHANGED_REASON, now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /** Cancel orphans whose deadline passed without a table from the new master. */
  expireOrphans(now: Millis): PartitionEvent[] {
    const events: PartitionEvent[] = [];
    for (const [id, local] of [...this.byId]) {
      if (local.state !== 'orphaned' || local.orphanDeadlineAt! > now) continue;
      const event = this.cancel(id, MASTER_CHANGED_REASON, now);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /** Earliest orphan deadline, stale incoming copy or due question, if any. */
  nextDeadline(): Millis | undefined {
    let next: Millis | undefined;
    for (const local of this.byId.values()) {
      const stale = local.side === 'destination' && local.state === 'running' ? local.startedAt + this.staleAfterMs : local.queryAt;
      const at = local.state === 'orphaned' ? local.orphanDeadlineAt : Math.min(stale, local.queryAt);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /** True when some migration waits for resolution after a master change. */
  hasOrphans(): boolean {
    for (const local of this.byId.values()) if (local.state === 'orphaned') return true;
    return false;
  }

  private remove(migrationId: string, outcome: MigrationOutcome, now: Millis, reason?: string): LocalMigration | undefined {
    const local = this.byId.get(migrationId);
    if (local === undefined) return undefined;
    this.byId.delete(migrationId);
    this.history.finish(local.side, migrationId, outcome, now, reason);
    return local;
  }
}

/** Whether `table` gives the migration's destination the role the migration moves: then it committed. */
function holdsRole(table: ClusterPartitionTable, info: MigrationInfo): boolean {
  return info.role === 'owner' ? table.owner(info.partition) === info.destination : table.backups(info.partition).includes(info.destination);
}

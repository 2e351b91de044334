/**
 * What the coordinator's parts (the master duties, the member side) share: this node's
 * id, config, table and view, the way out for messages, the one path through which the
 * table changes, and the counters the admin API reads.
 */
import type { MembersView } from './members-view.js';
import type { NodeId, PartitionTableData } from '../core/model.js';
import type { Message } from '../protocol/messages.js';
import type { CoordinatorConfig } from './coordinator-config.js';
import type { MasterPhase } from './coordinator-master.js';
import type { MigrationHistory } from './migration-history.js';
import type { ClusterPartitionTable, TableChange } from './partition-table.js';

/** Counters of what the coordinator did and ignored; only ever rise. */
export interface CoordinatorCounters {
  /** Messages that must come from the current master and did not. */
  notFromMaster: number;
  /** Members views older than (or as old as) the one held. */
  staleViews: number;
  /** Tables refused as malformed or lowering an epoch. */
  tablesRejected: number;
  /** Migration messages or driver reports naming a migration this node does not run. */
  unknownMigrations: number;
  /** Messages addressed to a node the view has no address for. */
  unroutable: number;
  /** Messages of a type the coordinator does not handle (e.g. `MigrateData`). */
  ignored: number;
  /** Table versions this node published as master. */
  tablesPublished: number;
  /** Migrations started, completed, cancelled, timed out and failed, as master. */
  migrationsStarted: number;
  migrationsCompleted: number;
  migrationsCancelled: number;
  migrationsTimedOut: number;
  migrationsFailed: number;
  /** Partitions whose migrations ran out of attempts, as master. */
  partitionsParked: number;
  /** `MigrateStart`s refused because `localMigrationsMax` was reached. */
  localRefused: number;
}

/** A snapshot of the coordinator for the admin API and tests. */
export interface CoordinatorStatus {
  readonly self: NodeId;
  readonly masterId: NodeId | undefined;
  readonly isMaster: boolean;
  /** The master's phase, when this node is the master. */
  readonly phase: MasterPhase | undefined;
  readonly viewVersion: number;
  readonly tableVersion: number;
  /** As master: partitions still waiting for data copies. */
  readonly pendingPartitions: number;
  /** As master: partitions whose migrations ran out of attempts (retried at the next view change). */
  readonly parkedPartitions: readonly number[];
  /** As master: migrations started and not yet finalized or cancelled. */
  readonly migrationsInFlight: number;
  /** Migrations this node takes part in as source or destination. */
  readonly localMigrations: number;
  readonly transmitsDropped: number;
  readonly eventsDropped: number;
  readonly counters: Readonly<CoordinatorCounters>;
}

/** A fresh set of counters. */
export function newCounters(): CoordinatorCounters {
  return {
    notFromMaster: 0,
    staleViews: 0,
    tablesRejected: 0,
    unknownMigrations: 0,
    unroutable: 0,
    ignored: 0,
    tablesPublished: 0,
    migrationsStarted: 0,
    migrationsCompleted: 0,
    migrationsCancelled: 0,
    migrationsTimedOut: 0,
    migrationsFailed: 0,
    partitionsParked: 0,
    localRefused: 0,
  };
}

/** The coordinator's shared state and services, as its parts see them. */
export interface CoordinatorContext {
  readonly self: NodeId;
  readonly config: CoordinatorConfig;
  readonly table: ClusterPartitionTable;
  readonly history: MigrationHistory;
  readonly counters: CoordinatorCounters;
  /** The newest members view this node has. */
  view(): MembersView;
  /** Queue `message` for `to`; to this node itself it is delivered locally, after the current input. */
  send(to: NodeId, message: Message): void;
  /**
   * Change the table in place (`promoteBackups`, `applyAssignments`) and, when it changed,
   * check the invariants (version + 1, no epoch lowered) and emit `TableChanged`. The
   * first change of a table without versions begins the lineage `lineage`.
   */
  changeTable(apply: (table: ClusterPartitionTable) => TableChange, lineage: string): TableChange;
  /** Take a published table if it is newer and of this node's lineage; emits `TableChanged`. False when older, equal or refused. */
  adoptTable(data: PartitionTableData): boolean;
  /** The highest epoch this node saw for `partition` in any lineage: a new owner's epoch goes above it. */
  epochFloorOf(partition: number): number;
}

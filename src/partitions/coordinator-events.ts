/**
 * What the partition coordinator tells its node driver: the local table changed (so the
 * driver fences or activates partitions), and a migration this node takes part in
 * starts, commits or is called off (so the driver moves data). Also how a table change
 * is turned into the node's gains and losses.
 */
import type { NodeId, PartitionTableData } from '../core/model.js';
import type { ReplicaRole } from '../protocol/messages.js';
import { NO_OWNER } from './assignment.js';

/** What this node is for one partition. */
export type LocalRole = 'owner' | 'backup' | 'none';

/** This node's role in one partition before and after a table change. */
export interface LocalRoleChange {
  readonly partition: number;
  readonly before: LocalRole;
  readonly after: LocalRole;
  /** The partition's epoch in the new table (what a new owner records in storage before serving). */
  readonly epoch: number;
}

/** A migration as the master started it: the `MigrateStart` fields. */
export interface MigrationInfo {
  readonly migrationId: string;
  readonly partition: number;
  /** The node that streams the data (the current owner, else the first backup). */
  readonly source: NodeId;
  /** The node that receives it. */
  readonly destination: NodeId;
  /** The replica the destination will hold once the migration commits. */
  readonly role: ReplicaRole;
  /** The epoch the partition will have once it commits (the finalize carries the actual one). */
  readonly epoch: number;
  /** The master's table version when it started the migration. */
  readonly tableVersion: number;
}

/** Which end of a migration this node is. */
export type MigrationSide = 'source' | 'destination';

/**
 * The local table moved to a newer version. Roles are the table's: a node serves, fences
 * and drops by `localGained` / `localLost`, whatever the migration events said. A
 * partition this node owned in both tables but under a new epoch (it lost and regained
 * ownership between two versions it saw) is listed in both lists.
 */
export interface TableChangedEvent {
  readonly type: 'TableChanged';
  readonly version: number;
  readonly previousVersion: number;
  /** Partitions whose owner, backups or epoch changed, ascending. */
  readonly changedPartitions: readonly number[];
  /** Partitions where this node's role rose (none -> backup/owner, backup -> owner), or its owner epoch changed. */
  readonly localGained: readonly LocalRoleChange[];
  /** Partitions where this node's role fell (owner -> backup/none, backup -> none), or its owner epoch changed. */
  readonly localLost: readonly LocalRoleChange[];
}

/**
 * The master started a migration this node takes part in: the source starts streaming
 * (snapshot, then deltas) to the destination; the destination applies it and calls
 * `localMigrationReady` once caught up. Either end calls `localMigrationFailed` when its
 * side fails, or when the stream breaks because the other end went away or runs no such
 * migration (a destination that already reported ready need not).
 */
export interface MigrationStartEvent {
  readonly type: 'MigrationStart';
  readonly migration: MigrationInfo;
  readonly localRole: MigrationSide;
}

/**
 * The migration committed (the table listing its outcome has already been announced by a
 * `TableChanged`): the source stops streaming, the destination serves its new replica
 * under `epoch`.
 */
export interface MigrationFinalizeEvent {
  readonly type: 'MigrationFinalize';
  readonly migration: MigrationInfo;
  readonly localRole: MigrationSide;
  readonly epoch: number;
}

/**
 * The migration is called off: the source stops streaming and stays in charge; the
 * destination discards what it received (unless the table lists it as a replica).
 */
export interface MigrationCancelEvent {
  readonly type: 'MigrationCancel';
  readonly migration: MigrationInfo;
  readonly localRole: MigrationSide;
  readonly reason: string;
}

/**
 * The master of this node's view publishes a table of another lineage than this node's:
 * one this node cannot take (it lowers an epoch), or one older than (or as old as, but
 * unlike) this node's. That happens when this node followed another master for a while
 * (a split, or a false death of the master) and the network healed without a split-brain
 * merge. This node's table and the data it holds under it belong to the other lineage:
 * the driver starts the partition state over, as a merged node does (a fresh coordinator
 * that reports `table` to the master, which raises its epochs above it), and hands the
 * data it held under `table` to the owners of the master's table. Emitted at most once
 * per coordinator, which takes no table from the master after it.
 */
export interface LineageDivergedEvent {
  readonly type: 'LineageDiverged';
  readonly master: NodeId;
  /** The version of the master's table. */
  readonly masterTableVersion: number;
  /** This node's table, of the other lineage. */
  readonly table: PartitionTableData;
}

/** Everything the coordinator emits. */
export type PartitionEvent = TableChangedEvent | MigrationStartEvent | MigrationFinalizeEvent | MigrationCancelEvent | LineageDivergedEvent;

function roleOf(owner: NodeId, backups: readonly NodeId[], self: NodeId): LocalRole {
  if (owner === self) return 'owner';
  return backups.includes(self) ? 'backup' : 'none';
}

const rank: Readonly<Record<LocalRole, number>> = { none: 0, backup: 1, owner: 2 };

/**
 * The `TableChanged` event for moving from `before` to `after` as seen by `self`. Both
 * tables must have the same partition count.
 */
export function diffTables(before: PartitionTableData, after: PartitionTableData, self: NodeId): TableChangedEvent {
  const changedPartitions: number[] = [];
  const localGained: LocalRoleChange[] = [];
  const localLost: LocalRoleChange[] = [];
  const previous = byPartition(before);
  const current = byPartition(after);
  for (const next of current) {
    if (next === undefined) continue;
    const prev = previous[next.partition];
    // The table shares an unchanged partition's entry between versions.
    if (prev === next) continue;
    const prevOwner = prev?.owner ?? NO_OWNER;
    const prevBackups = prev?.backups ?? [];
    const prevEpoch = prev?.epoch ?? 0;
    if (prevOwner === next.owner && prevEpoch === next.epoch && sameList(prevBackups, next.backups)) continue;
    changedPartitions.push(next.partition);
    const was = roleOf(prevOwner, prevBackups, self);
    const is = roleOf(next.owner, next.backups, self);
    const change: LocalRoleChange = { partition: next.partition, before: was, after: is, epoch: next.epoch };
    if (rank[is] > rank[was]) localGained.push(change);
    else if (rank[is] < rank[was]) localLost.push(change);
    else if (is === 'owner' && prevEpoch !== next.epoch) {
      localLost.push(change);
      localGained.push(change);
    }
  }
  return { type: 'TableChanged', version: after.version, previousVersion: before.version, changedPartitions, localGained, localLost };
}

function byPartition(data: PartitionTableData): (PartitionTableData['assignments'][number] | undefined)[] {
  const out = new Array<PartitionTableData['assignments'][number] | undefined>(data.partitionCount);
  for (const a of data.assignments) out[a.partition] = a;
  return out;
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The wire messages of the partition layer: the master's tables, a merged node's old
 * table, table fetches, and the migration protocol (start, data, ready, finalize,
 * cancel, and a participant's question about an order it may have missed). Part of the contract in `messages.ts`, which re-exports them.
 */
import type { NodeId, PartitionTableData } from '../core/model.js';

// ---------------------------------------------------------------------------------------
// Partitions
// ---------------------------------------------------------------------------------------

/** The master publishes a new partition table and which migrations it completed. */
export interface PartitionTableUpdate {
  readonly type: 'PartitionTableUpdate';
  readonly table: PartitionTableData;
  readonly completedMigrations: readonly string[];
}

/**
 * From a node that merged into this cluster after a split, to its new master: the table
 * it held in the cluster it left. The master raises its own epochs above that table's
 * where they do not already beat them, so no epoch the losing side used is used again by
 * another owner (storage fences by epoch).
 */
export interface MergedTable {
  readonly type: 'MergedTable';
  readonly from: NodeId;
  readonly table: PartitionTableData;
}

/** Ask for the newest partition table; `knownVersion` lets the master skip a no-op reply. */
export interface FetchPartitionTable {
  readonly type: 'FetchPartitionTable';
  readonly from: NodeId;
  readonly knownVersion: number;
}

// ---------------------------------------------------------------------------------------
// Migration
// ---------------------------------------------------------------------------------------

/** Replica role a migration creates on its destination. */
export type ReplicaRole = 'owner' | 'backup';

/** Begins moving one partition replica from `source` to `destination`. */
export interface MigrateStart {
  readonly type: 'MigrateStart';
  readonly migrationId: string;
  readonly partition: number;
  readonly source: NodeId;
  readonly destination: NodeId;
  readonly role: ReplicaRole;
  /** Epoch the partition will have once this migration is finalized. */
  readonly epoch: number;
  readonly tableVersion: number;
}

/** One piece of a partition's state: a snapshot chunk, or a delta made while copying. */
export interface MigrateData {
  readonly type: 'MigrateData';
  readonly migrationId: string;
  readonly partition: number;
  /** Which participant service the payload belongs to (e.g. "grid", "entities"). */
  readonly service: string;
  readonly kind: 'chunk' | 'delta';
  /** Per-migration sequence number, for ordering and duplicate detection. */
  readonly seq: number;
  /** Opaque to the protocol; the participant encodes it. */
  readonly payload: Uint8Array;
  /**
   * True on the last snapshot chunk of this service; on a delta, true on the seal (the
   * last delta streamed; later changes are sent one by one as they happen).
   */
  readonly last: boolean;
}

/** The destination has applied the snapshot and is caught up. */
export interface MigrateReady {
  readonly type: 'MigrateReady';
  readonly migrationId: string;
  readonly partition: number;
  readonly lastSeq: number;
}

/** Commit the move: the destination takes the role, the source drops or demotes. */
export interface MigrateFinalize {
  readonly type: 'MigrateFinalize';
  readonly migrationId: string;
  readonly partition: number;
  readonly epoch: number;
}

/** Abort the move; the source stays in charge with nothing lost. */
export interface MigrateCancel {
  readonly type: 'MigrateCancel';
  readonly migrationId: string;
  readonly partition: number;
  readonly reason: string;
}

/**
 * From a participant to the master that started the migration: it is still under way
 * here (a cut or a stall can lose its finalize or cancel). The master answers
 * `MigrateStatus` when it no longer runs the migration; while it does, a query from the
 * destination with `ready` counts as its `MigrateReady`, which may have been lost too.
 */
export interface MigrateQuery {
  readonly type: 'MigrateQuery';
  readonly migrationId: string;
  readonly partition: number;
  /** The sender is the destination and its copy is caught up (it reported ready). */
  readonly ready: boolean;
}

/**
 * How a migration the master no longer runs ended, as far as it remembers:
 * `committed`, `cancelled` (also timed out or failed), or `unknown` (another mastership's,
 * or forgotten).
 */
export type MigrationVerdict = 'committed' | 'cancelled' | 'unknown';

/**
 * The master's answer to `MigrateQuery`. `tableVersion` is the master's table version
 * when it answered: any commit of the migration is in that table or an older one, so a
 * participant that holds a table of this master at least that new can settle its side
 * from the table alone.
 */
export interface MigrateStatus {
  readonly type: 'MigrateStatus';
  readonly migrationId: string;
  readonly partition: number;
  readonly verdict: MigrationVerdict;
  readonly tableVersion: number;
}

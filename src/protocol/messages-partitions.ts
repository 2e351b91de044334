/**
 * The wire messages of the partition layer: the master's tables, a merged node's old
 * table, table fetches, and the migration protocol (start, data, ready, finalize,
 * cancel). Part of the contract in `messages.ts`, which re-exports them.
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

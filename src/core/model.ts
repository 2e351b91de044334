/**
 * Plain data shapes shared by several layers and by the wire protocol: node identity,
 * the master's members view, and partition assignments. Behaviour lives elsewhere
 * (`partitions/`, `membership/`); these are only the records.
 */

/** A node's unique id (stable for the life of one process). */
export type NodeId = string;

/** `host:port` of a node's cluster listener (UDP and TCP share it). */
export type Address = string;

/** Key/value metadata a node advertises; versioned by its incarnation. */
export type Tags = Readonly<Record<string, string>>;

/** Liveness of a member as seen by SWIM gossip. */
export type SwimState = 'alive' | 'suspect' | 'dead' | 'left';

/** Status of a member in the master's authoritative members view. */
export type MemberStatus = 'active' | 'suspect' | 'leaving' | 'dead';

/** Identity a node presents when it joins. */
export interface NodeInfo {
  readonly nodeId: NodeId;
  /** Cluster address (UDP + TCP). */
  readonly address: Address;
  /** Client-facing endpoint (gateway), when the node serves clients. */
  readonly clientAddress?: string;
  readonly tags: Tags;
}

/** One member in the master's view. */
export interface MemberRecord {
  readonly nodeId: NodeId;
  readonly address: Address;
  readonly clientAddress?: string;
  /** Order of admission by the master; lower means older. */
  readonly joinVersion: number;
  readonly status: MemberStatus;
  readonly incarnation: number;
  readonly tags: Tags;
}

/** Wire/data form of a members view. */
export interface MembersViewData {
  readonly version: number;
  readonly members: readonly MemberRecord[];
}

/** Who holds one partition, and its epoch (raised on every ownership change). */
export interface PartitionAssignment {
  readonly partition: number;
  readonly owner: NodeId;
  /** Backups in promotion order: the first is promoted when the owner dies. */
  readonly backups: readonly NodeId[];
  readonly epoch: number;
}

/** Wire/data form of a partition table. */
export interface PartitionTableData {
  readonly version: number;
  readonly partitionCount: number;
  readonly assignments: readonly PartitionAssignment[];
  /**
   * Which line of tables this one continues: set by the master that publishes a cluster's
   * first table, carried by every later version, so a node can tell a newer table of its
   * own cluster from one of a cluster it never belonged to. Absent from tables of earlier
   * versions and from hand-built ones (then any lineage matches).
   */
  readonly lineage?: string;
}

/** Default number of partitions. A prime spreads keys evenly for common key shapes. */
export const DEFAULT_PARTITION_COUNT = 271;

/** Default number of backups per partition. */
export const DEFAULT_BACKUP_COUNT = 1;

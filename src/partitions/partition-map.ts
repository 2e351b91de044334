/**
 * The partition map a smart client routes by: the table's owners and backups plus each
 * node's client endpoint and a client-facing status. Clients never see membership
 * internals, so member statuses are mapped onto a small, stable set.
 */
import type { MemberRecord, MemberStatus, NodeId, PartitionTableData } from '../core/model.js';
import { NO_OWNER } from './assignment.js';
import { compareBySeniority, MembersView } from './members-view.js';

/**
 * A node's status as clients see it:
 * - `up`: active; route to it.
 * - `suspect`: may have failed; still routed to, but clients should expect retries.
 * - `leaving`: shutting down gracefully; its partitions are moving away.
 * - `down`: dead; do not route to it.
 */
export type ClientNodeStatus = 'up' | 'suspect' | 'leaving' | 'down';

/** Member status -> client status: active -> up, suspect -> suspect, leaving -> leaving, dead -> down. */
export function clientNodeStatus(status: MemberStatus): ClientNodeStatus {
  switch (status) {
    case 'active':
      return 'up';
    case 'suspect':
      return 'suspect';
    case 'leaving':
      return 'leaving';
    case 'dead':
      return 'down';
  }
}

/** One node in a client partition map. */
export interface PartitionMapNode {
  readonly nodeId: NodeId;
  /** Where clients connect: the member's `clientAddress`, else its cluster address. */
  readonly endpoint: string;
  readonly status: ClientNodeStatus;
}

/** One partition in a client partition map; `owner` is null when the partition has no owner. */
export interface PartitionMapEntry {
  readonly partition: number;
  readonly owner: NodeId | null;
  readonly backups: readonly NodeId[];
}

/** What a smart client needs to route: versioned, so a client keeps the newest it has seen. */
export interface PartitionMap {
  /** The partition table version this map was built from. */
  readonly version: number;
  readonly partitionCount: number;
  /** Every member of the view, oldest first; a node named by a partition but absent here counts as down. */
  readonly nodes: readonly PartitionMapNode[];
  readonly partitions: readonly PartitionMapEntry[];
}

/** Build the client map from a table's data form and the members (a view or its records). */
export function buildPartitionMap(table: PartitionTableData, members: MembersView | readonly MemberRecord[]): PartitionMap {
  const records = members instanceof MembersView ? members.members() : [...members].sort(compareBySeniority);
  return {
    version: table.version,
    partitionCount: table.partitionCount,
    nodes: records.map((m) => ({ nodeId: m.nodeId, endpoint: m.clientAddress ?? m.address, status: clientNodeStatus(m.status) })),
    partitions: [...table.assignments]
      .sort((a, b) => a.partition - b.partition)
      .map((a) => ({ partition: a.partition, owner: a.owner === NO_OWNER ? null : a.owner, backups: [...a.backups] })),
  };
}

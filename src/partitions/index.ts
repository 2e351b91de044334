/**
 * The partitions layer's public face: the members view and master rule, assignment,
 * rebalance planning, migration ordering, the partition table and the client map.
 * Pure and I/O-free; the node driver and the simulator feed it.
 */
export { compareBySeniority, MembersView } from './members-view.js';
export { assignmentEntries, computeAssignment, NO_OWNER, PLACEMENT_NONE, PLACEMENT_TAG, ZONE_TAG } from './assignment.js';
export type { AssignableMember, AssignmentInput, ReplicaAssignment } from './assignment.js';
export { applyMoves, planRebalance, replicaSlots } from './rebalance.js';
export type { MoveKind, RebalanceMove } from './rebalance.js';
export { orderMigrations } from './migration-order.js';
export type { MigrationOrderOptions, MigrationStep } from './migration-order.js';
export { ClusterPartitionTable } from './partition-table.js';
export type { NodePartitions, TableChange } from './partition-table.js';
export { buildPartitionMap, clientNodeStatus } from './partition-map.js';
export type { ClientNodeStatus, PartitionMap, PartitionMapEntry, PartitionMapNode } from './partition-map.js';
export {
  BACKUP_COUNT_MAX,
  DEFAULT_PARTITION_CONFIG,
  PARALLEL_MIGRATIONS_PER_NODE_MAX,
  resolvePartitionConfig,
} from './config.js';
export type { PartitionConfig } from './config.js';
export { PartitionCoordinator } from './coordinator.js';
export { EpochMemory } from './epoch-memory.js';
export type { PartitionCoordinatorOptions } from './coordinator.js';
export type { PartitionTableReader } from './coordinator-table.js';
export { DEFAULT_COORDINATOR_CONFIG, resolveCoordinatorConfig } from './coordinator-config.js';
export type { CoordinatorConfig } from './coordinator-config.js';
export type { CoordinatorCounters, CoordinatorStatus } from './coordinator-context.js';
export { diffTables } from './coordinator-events.js';
export type {
  LocalRole,
  LocalRoleChange,
  MigrationCancelEvent,
  MigrationFinalizeEvent,
  MigrationInfo,
  MigrationSide,
  MigrationStartEvent,
  PartitionEvent,
  TableChangedEvent,
} from './coordinator-events.js';
export type { MasterPhase } from './coordinator-master.js';
export type { MigrationOutcome, MigrationPerspective, MigrationRecord, MigrationState } from './migration-history.js';

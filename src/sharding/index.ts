/**
 * The public face of `sharding/`: the partitioned-service contract (register a service,
 * route calls to partition owners), the layer's settings, and the migration participant
 * contract for services that keep partition data.
 */
export { Sharding, PARTITIONED_SERVICES_MAX } from './sharding.js';
export type { MergeNotice, ShardingOptions, ShardingStatus } from './sharding.js';
export type { PartitionedService, PartitionHandler, RouteOptions, ShardContext, ShardingEnv } from './service.js';
export { DEFAULT_MIGRATION_CONFIG, DEFAULT_ROUTING_CONFIG } from './config.js';
export type { MigrationConfig, RoutingConfig } from './config.js';
export { MIGRATION_CHUNK_BYTES_MAX } from './participant.js';
export type { MigrationParticipant, ParticipantRole, ParticipantSide } from './participant.js';

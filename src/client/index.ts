/**
 * The sans-IO smart client: routing by partition map, per-node connections with backoff
 * and circuit breakers, offline-first writes. It takes its WebSocket, timers and
 * randomness as inputs; `flotilla/client` (src/client-platform/) fills them in from the
 * platform. It shares partition hashing and the error catalog with the server, so a
 * client routes a key to exactly the partition the cluster does.
 */
export { FlotillaClient } from './flotilla-client.js';
export type { FlotillaClientOptions, ConnectedNode } from './flotilla-client.js';
export { ClientMap } from './client-map.js';
export { ClientOrMap } from './client-or-map.js';
export type { MapChange, MapListener } from './local-store.js';
export type { ClientEntityDefinition, ClientEntityRef } from './entity-ref.js';
export type { SubscriptionFilter } from './subscriptions.js';
export type { LiveQuery } from './live-queries.js';
export type { QueryChange, QueryListener } from './query-result.js';
export type { QueryFilter, FilterScalar } from '../protocol/query-filter.js';
export { MemoryStorageAdapter } from './storage.js';
export type { PendingWrite, StorageAdapter } from './storage.js';
export type { ClusterStats } from './routing-table.js';
export { DEFAULT_CLIENT_CONFIG } from './client-config.js';
export type { ClientConfig } from './client-config.js';
export type { ClientSocket, SocketConstructor } from './socket.js';
export type { KvValue } from '../protocol/map-values.js';
export { FlotillaError, isFlotillaError, ErrorCatalog } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
export { partitionOf } from '../core/partition.js';
export { murmur3Utf8, murmur3_x86_32 } from '../core/murmur3.js';
export { DEFAULT_PARTITION_COUNT } from '../core/model.js';

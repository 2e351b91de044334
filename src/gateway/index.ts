/**
 * The gateway layer's public face: the HTTP admin API (health, members, partitions,
 * migrations, entities, Prometheus metrics) and the `AdminSource` contract a node implements for it.
 */
export { startAdminServer, type AdminServer, type AdminServerOptions } from './admin-server.js';
export {
  ADMIN_BODY_BYTES_MAX,
  ADMIN_CONNECTIONS_MAX,
  ADMIN_REQUEST_TIMEOUT_MS_MAX,
  DEFAULT_ADMIN_CONFIG,
  isBindableHost,
  resolveAdminConfig,
  type AdminServerConfig,
} from './admin-config.js';
export type {
  AdminActiveEntity,
  AdminEntities,
  AdminMember,
  AdminMemberState,
  AdminPartition,
  AdminSource,
  ChannelSnapshot,
  CheckStatus,
  EntityMetricsSnapshot,
  WatchMetricsSnapshot,
  HealthCheckResult,
  HealthReport,
  HealthStatus,
  LatencyHistogramSnapshot,
  MembersReport,
  MetricsSnapshot,
  MigrationInfo,
  MigrationOutcome,
  MigrationsReport,
  MigrationState,
  PartitionsReport,
  QuorumStateName,
  TrafficCountSnapshot,
} from './admin-source.js';
export { ADMIN_ROUTES, UNAVAILABLE_HEALTH } from './admin-routes.js';
export { createAdminMetrics, type AdminMetrics, type AdminMetricsOptions } from './metrics.js';
export { HISTOGRAM_SPECS, METRIC_SPECS, type HistogramSpec, type MetricSample, type MetricSpec } from './metric-specs.js';
export {
  ENTITIES_LIMIT_DEFAULT,
  ENTITIES_LIMIT_MAX,
  ENTITY_ROUTES,
  type EntitiesReport,
  type EntityPartitionCount,
  type EntityPartitionsReport,
  type EntityTypeCount,
} from './entity-routes.js';
export { silentAdminLogger, type AdminLogger } from './http-io.js';
export { ADMIN_TOKEN_CHARS_MIN, DEV_ADMIN_TOKEN } from './admin-access.js';

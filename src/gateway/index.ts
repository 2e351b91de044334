/**
 * The gateway layer's public face: the HTTP admin API (health, members, partitions,
 * migrations, Prometheus metrics) and the `AdminSource` contract a node implements for it.
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
  AdminMember,
  AdminMemberState,
  AdminPartition,
  AdminSource,
  ChannelSnapshot,
  CheckStatus,
  HealthCheckResult,
  HealthReport,
  HealthStatus,
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
export { METRIC_SPECS, type MetricSample, type MetricSpec } from './metric-specs.js';
export { silentAdminLogger, type AdminLogger } from './http-io.js';

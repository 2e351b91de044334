/**
 * The node layer's public face: `startNode` and the running node's types, the service
 * contract for hosted services, health checks and the event stream.
 */
export { startNode } from './start-node.js';
export { DEFAULT_NODE_OPTIONS, DEV_SECRET, SECRET_CHARS_MIN, resolveNodeConfig } from './node-config.js';
export type { LifecycleConfig, NodeConfig, NodeTransportOptions, StartNodeOptions } from './node-config.js';
export type { FlotillaNode, NodeKv, NodeMigrations, NodeQuorum, NodeState, NodeStats } from './node-api.js';
export { HEALTH_TAG, HEALTH_CHECKS_MAX } from './health.js';
export type { CheckStatus, HealthCheck, HealthCheckResult, HealthStatus, NodeHealthReport } from './health.js';
export type { NodeEventItem, NodeEvents, NodeEventSubscription } from './node-events.js';
export { DEFAULT_DRIVER_CONFIG } from './driver-config.js';
export type { DriverConfig } from './driver-config.js';
export type { DriverStats } from './driver-stats.js';
export type { EventLoopLag } from './event-loop-lag.js';
export { LOG_LEVELS } from './node-logger.js';
export type { LogLevel } from './node-logger.js';
export type { NodeContext, NodeLogger, NodeService } from './service.js';
export { DEFAULT_STORAGE_FILE } from './entity-setup.js';
export { DEFAULT_ETCD_CONFIG, ETCD_ENDPOINTS_MAX } from './etcd/etcd-config.js';
export type { EtcdConfig, EtcdOptions } from './etcd/etcd-config.js';
export type { EtcdStatus } from './etcd/etcd-mode.js';

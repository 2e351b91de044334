/**
 * The public face of `grid/`: the cluster's key/value store (a last-writer-wins map per
 * partition, on owners and backups) and its settings.
 */
export { KvService, KV_SIZE_FAN_OUT_MAX } from './kv-service.js';
export type { KvStatus } from './kv-service.js';
export { DEFAULT_KV_CONFIG } from './kv-config.js';
export type { KvConfig } from './kv-config.js';
export type { KvValue } from './kv-codec.js';

/**
 * The public face of `grid/`: the cluster's named maps (last-writer-wins per key, with
 * tombstones, per partition on owners and backups) and their settings.
 */
export { KvService, KV_SIZE_FAN_OUT_MAX } from './kv-service.js';
export type { KvStatus } from './kv-service.js';
export { GridMap } from './grid-map.js';
export { GridOrMap } from './grid-or-map.js';
export { OR_KEY_BYTES_MAX, OR_MAP_NAME_BYTES_MAX } from './or-map-keys.js';
export { DEFAULT_KV_CONFIG } from './kv-config.js';
export type { KvConfig } from './kv-config.js';
export { DEFAULT_MAP, MAP_NAME_BYTES_MAX, KV_KEY_BYTES_MAX } from './kv-codec.js';
export type { KvValue } from './kv-codec.js';
export { checkMergePolicies } from './merge-policy.js';
export type { MergeFunction, MergePolicies, MergePolicy } from './merge-policy.js';

/**
 * `flotilla/client`: the isomorphic entry point (browser and Node, no `node:*`), where the
 * smart client will live.
 * It shares partition hashing and the error catalog with the server, so a client
 * routes a key to exactly the partition the cluster does.
 */
export { FlotillaError, isFlotillaError, ErrorCatalog } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
export { partitionOf } from '../core/partition.js';
export { murmur3Utf8, murmur3_x86_32 } from '../core/murmur3.js';
export { DEFAULT_PARTITION_COUNT } from '../core/model.js';

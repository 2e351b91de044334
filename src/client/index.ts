/**
 * `flotilla/client`: the smart client (isomorphic: browser and Node, no `node:*`).
 * It shares partition hashing and the error catalog with the server.
 */
export { FlotillaError, isFlotillaError, ErrorCatalog } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';

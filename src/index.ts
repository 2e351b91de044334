/** `flotilla`: the server-side API: the protocol core, and the node (`startNode`). */
export * from './cluster.js';
export * from './node/index.js';
export * from './entities/index.js';

/** `flotilla`: the server-side API. For now it re-exports the protocol core. */
export * from './cluster.js';

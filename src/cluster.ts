/**
 * `flotilla/cluster`: the pure, I/O-free protocol core (hashing, clocks, failure
 * detectors, membership and partition state machines, the wire codec).
 */
export * from './core/index.js';
export * from './protocol/index.js';
export * from './partitions/index.js';
export * from './membership/index.js';

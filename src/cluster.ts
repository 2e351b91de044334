/**
 * `flotilla/cluster`: the pure, I/O-free protocol core (hashing, clocks, failure
 * detectors, membership and partition state machines, the wire codec).
 */
export * from './core/errors.js';
export * from './core/clock.js';
export * from './core/random.js';
export * from './core/model.js';
export * from './core/machine.js';
export * from './protocol/messages.js';

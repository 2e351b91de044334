/**
 * The public face of `core/`: the isomorphic building blocks every other layer and the
 * smart client share (errors, time, randomness, data shapes, hashing, clocks, incarnations).
 */
export * from './errors.js';
export * from './clock.js';
export * from './random.js';
export * from './model.js';
export * from './machine.js';
export * from './murmur3.js';
export * from './partition.js';
export * from './hlc.js';
export * from './incarnation.js';

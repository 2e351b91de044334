/**
 * The public face of `entities/`: defining entity types and traits, the typed refs
 * callers use, the built-in traits, the runtime configuration, and the runtime itself.
 */
export * from './context.js';
export * from './definition.js';
export * from './trait.js';
export * from './ref.js';
export * from './auditable.js';
export * from './versioned.js';
export * from './entity-config.js';
export * from './call.js';
export * from './partition-gate.js';
export * from './runtime.js';
export * from './runtime-stats.js';
export * from './singleton-definition.js';
export { type SingletonRef } from './singleton-ops.js';
export { type SingletonStatus } from './singleton-service.js';

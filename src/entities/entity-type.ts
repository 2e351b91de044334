/**
 * The runtime's view of one registered entity type: its definition, every handler it
 * answers to (its own and its traits', each with the trait that owns it), and its
 * effective settings (per-type overrides over the node's).
 */
import { FlotillaError } from '../core/errors.js';
import type { AnyEntityDefinition } from './definition.js';
import type { EntityConfig } from './entity-config.js';
import type { AnyTraitDefinition } from './trait.js';

/** A handler with the context type erased (the runtime builds the right context). */
export type ErasedHandler = (ctx: unknown, ...args: unknown[]) => unknown;

/** One handler an entity type answers to. */
export interface HandlerEntry {
  readonly fn: ErasedHandler;
  /** The trait that brings it; undefined for the entity's own handlers. */
  readonly trait: AnyTraitDefinition | undefined;
}

/** A registered entity type. */
export interface EntityType {
  readonly definition: AnyEntityDefinition;
  readonly handlers: ReadonlyMap<string, HandlerEntry>;
  readonly passivateAfterMs: number;
  readonly mailboxCapacityMax: number;
  readonly durable: boolean;
}

/** Build the runtime's registry; throws FLO_CONFIG_INVALID for a type registered twice. */
export function buildRegistry(definitions: readonly AnyEntityDefinition[], config: EntityConfig): Map<string, EntityType> {
  const registry = new Map<string, EntityType>();
  for (const definition of definitions) {
    if (definition.kind !== 'entity') throw new FlotillaError('FLO_CONFIG_INVALID', 'entities must be made with defineEntity');
    if (registry.has(definition.type)) throw new FlotillaError('FLO_CONFIG_INVALID', `entity type ${definition.type} is registered twice`);
    const handlers = new Map<string, HandlerEntry>();
    for (const [name, fn] of Object.entries(definition.handlers)) handlers.set(name, { fn: fn as unknown as ErasedHandler, trait: undefined });
    for (const trait of definition.traits) {
      for (const [name, fn] of Object.entries(trait.handlers)) handlers.set(name, { fn: fn as unknown as ErasedHandler, trait });
    }
    registry.set(definition.type, {
      definition,
      handlers,
      passivateAfterMs: definition.passivateAfterMs ?? config.passivateAfterMs,
      mailboxCapacityMax: definition.mailboxCapacityMax ?? config.mailboxCapacityMax,
      durable: definition.persistence === 'durable',
    });
  }
  return registry;
}

/**
 * `defineEntity`: the definition of an entity type (its initial state, its handlers, the
 * traits it composes, and per-type runtime settings). Types flow from here to every
 * caller's `EntityRef`, so a wrong argument is a compile error at the call site.
 */
import { FlotillaError } from '../core/errors.js';
import type { EntityContext } from './context.js';
import type { AnyTraitDefinition } from './trait.js';

/** Where an entity type's state lives: shared durable storage, or only in memory. */
export type EntityPersistence = 'durable' | 'memory';

/** An entity handler: `(ctx, ...args) => result`; arguments and result must be msgpack-serializable. */
export type EntityHandler<S> = (ctx: EntityContext<S>, ...args: never[]) => unknown;

/** An entity's handlers by name. */
export type EntityHandlers<S> = Record<string, EntityHandler<S>>;

/** How an entity type is written. */
export interface EntitySpec<S, H extends EntityHandlers<S>, Tr extends readonly AnyTraitDefinition[]> {
  /** The state of a new entity (called once per entity that has no stored state). */
  readonly state: () => S;
  /** The handlers: the entity's RPCs. */
  readonly handlers: H;
  /** Traits composed into this type: their handlers join the ref, their state persists with the entity's. */
  readonly traits?: Tr;
  /** Idle time before an activation is evicted from memory, ms. Default: the node's `passivateAfterMs`. */
  readonly passivateAfterMs?: number;
  /** Calls queued per activation before FLO_MAILBOX_FULL. Default: the node's `mailboxCapacityMax`. */
  readonly mailboxCapacityMax?: number;
  /** `durable` (default): state is loaded from and saved to storage. `memory`: never touches storage. */
  readonly persistence?: EntityPersistence;
}

/**
 * Any entity definition, whatever its state and handlers: the erased shape the runtime
 * and the registry work with (`never` parameters accept every concrete handler).
 */
export interface AnyEntityDefinition {
  readonly kind: 'entity';
  /** The type name: part of every entity's key (`type/id`) and its storage record. */
  readonly type: string;
  readonly state: () => unknown;
  readonly handlers: { readonly [name: string]: (ctx: never, ...args: never[]) => unknown };
  readonly traits: readonly AnyTraitDefinition[];
  readonly passivateAfterMs: number | undefined;
  readonly mailboxCapacityMax: number | undefined;
  readonly persistence: EntityPersistence;
}

/** A defined entity type. */
export interface EntityDefinition<
  T extends string = string,
  S = unknown,
  H extends EntityHandlers<S> = EntityHandlers<S>,
  Tr extends readonly AnyTraitDefinition[] = readonly AnyTraitDefinition[],
> extends AnyEntityDefinition {
  readonly type: T;
  readonly state: () => S;
  readonly handlers: H;
  readonly traits: Tr;
}

/** Handler names a ref cannot carry (`then` would make a ref look like a promise). */
const reservedNames = new Set(['then', 'constructor', '__proto__', 'prototype', 'toJSON']);
const typePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * Define an entity type. Type names are 1-128 characters (a letter, then letters, digits,
 * `_ . -`); handler names must be unique across the entity and its traits.
 */
export function defineEntity<const T extends string, S, H extends EntityHandlers<S>, const Tr extends readonly AnyTraitDefinition[] = []>(
  type: T,
  spec: EntitySpec<S, H, Tr>,
): EntityDefinition<T, S, H, Tr> {
  if (!typePattern.test(type)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `invalid entity type name '${type}'`);
  if (typeof spec.state !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `entity '${type}' needs a state() function`);
  const traits = (spec.traits ?? []) as unknown as Tr;
  checkHandlerNames(type, spec.handlers, traits);
  checkPositive(type, 'passivateAfterMs', spec.passivateAfterMs);
  checkPositive(type, 'mailboxCapacityMax', spec.mailboxCapacityMax);
  return {
    kind: 'entity',
    type,
    state: spec.state,
    handlers: spec.handlers,
    traits,
    passivateAfterMs: spec.passivateAfterMs,
    mailboxCapacityMax: spec.mailboxCapacityMax,
    persistence: spec.persistence ?? 'durable',
  };
}

function checkHandlerNames(type: string, handlers: Record<string, unknown>, traits: readonly AnyTraitDefinition[]): void {
  const seen = new Map<string, string>();
  const traitNames = new Set<string>();
  const add = (name: string, fn: unknown, owner: string): void => {
    if (typeof fn !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `${owner} handler '${name}' is not a function`);
    if (reservedNames.has(name)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `${owner} handler name '${name}' is reserved`);
    const previous = seen.get(name);
    if (previous !== undefined) throw new FlotillaError('FLO_INVALID_ARGUMENT', `handler '${name}' of entity '${type}' is defined by both ${previous} and ${owner}`);
    seen.set(name, owner);
  };
  for (const [name, fn] of Object.entries(handlers)) add(name, fn, `entity '${type}'`);
  for (const trait of traits) {
    if (trait.kind !== 'trait') throw new FlotillaError('FLO_INVALID_ARGUMENT', `entity '${type}' lists something that is not a trait`);
    if (traitNames.has(trait.name)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `entity '${type}' lists trait '${trait.name}' twice`);
    traitNames.add(trait.name);
    for (const [name, fn] of Object.entries(trait.handlers)) add(name, fn, `trait '${trait.name}'`);
  }
}

function checkPositive(type: string, field: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0) throw new FlotillaError('FLO_INVALID_ARGUMENT', `entity '${type}': ${field} must be a positive number`, { [field]: value });
}

/** Every handler name an entity type answers to (its own, then its traits'). */
export function handlerNamesOf(definition: AnyEntityDefinition): string[] {
  const names = Object.keys(definition.handlers);
  for (const trait of definition.traits) names.push(...Object.keys(trait.handlers));
  return names;
}

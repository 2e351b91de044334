/**
 * Traits: reusable behaviour an entity type composes. A trait brings handlers (which
 * appear on the entity's ref), its own state slice (persisted with the entity's), and
 * hooks that run around every call of the entity (auditing, optimistic concurrency).
 */
import { FlotillaError } from '../core/errors.js';
import type { CallInfo, CallOutcome, TraitContext } from './context.js';

/** A trait handler: `(ctx, ...args) => result`. */
export type TraitHandler<TS> = (ctx: TraitContext<TS>, ...args: never[]) => unknown;

/** A trait's handlers by name. */
export type TraitHandlers<TS> = Record<string, TraitHandler<TS>>;

/** How a trait is written. */
export interface TraitSpec<TS, H extends TraitHandlers<TS>> {
  /** The initial state slice of a new entity. */
  readonly state: () => TS;
  /** Handlers added to the entity's ref. */
  readonly handlers: H;
  /** Runs before every call of the entity; throwing refuses the call (nothing runs, nothing saved). */
  readonly beforeCall?: (ctx: TraitContext<TS>, call: CallInfo) => void;
  /**
   * Runs after every successful call, before the state is saved; changes it makes to the
   * trait slice are saved with the call's (they do not by themselves count as a change).
   */
  readonly afterCall?: (ctx: TraitContext<TS>, outcome: CallOutcome) => void;
}

/** A defined trait. */
export interface TraitDefinition<N extends string = string, TS = unknown, H extends TraitHandlers<TS> = TraitHandlers<TS>> extends TraitSpec<TS, H> {
  readonly kind: 'trait';
  /** The trait's name: its state slice's key; unique within an entity type. */
  readonly name: N;
}

/**
 * Any trait, whatever its state and handlers: the erased shape the runtime works with
 * (`never` parameters accept every concrete handler).
 */
export interface AnyTraitDefinition {
  readonly kind: 'trait';
  readonly name: string;
  readonly state: () => unknown;
  readonly handlers: { readonly [name: string]: (ctx: never, ...args: never[]) => unknown };
  readonly beforeCall?: (ctx: never, call: CallInfo) => void;
  readonly afterCall?: (ctx: never, outcome: CallOutcome) => void;
}

const namePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Define a trait. Names are 1-64 characters: a letter, then letters, digits, `_ . -`. */
export function defineTrait<const N extends string, TS, H extends TraitHandlers<TS>>(name: N, spec: TraitSpec<TS, H>): TraitDefinition<N, TS, H> {
  if (!namePattern.test(name)) throw new FlotillaError('FLO_INVALID_ARGUMENT', `invalid trait name '${name}'`);
  if (typeof spec.state !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `trait '${name}' needs a state() function`);
  for (const [handler, fn] of Object.entries(spec.handlers)) {
    if (typeof fn !== 'function') throw new FlotillaError('FLO_INVALID_ARGUMENT', `trait '${name}' handler '${handler}' is not a function`);
  }
  return { ...spec, kind: 'trait', name };
}

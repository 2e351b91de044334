/**
 * What a handler sees while it runs: the entity's mutable state, its identity, the time,
 * and refs to other entities whose calls join this call chain (so a chain that comes back
 * to an entity it already holds re-enters instead of deadlocking).
 */
import type { NodeId } from '../core/model.js';
import type { AnyEntityDefinition } from './definition.js';
import type { EntityRef } from './ref.js';

/** The context passed as the first argument of every entity handler. */
export interface EntityContext<S> {
  /** The entity's state: mutate it in place or assign a new value. */
  state: S;
  /** The entity's id. */
  readonly id: string;
  /** The entity's type (its definition's name). */
  readonly type: string;
  /** The node running this activation. */
  readonly nodeId: NodeId;
  /** A ref to another (or this) entity; its calls join this call chain. */
  entity<D extends AnyEntityDefinition>(definition: D, id: string): EntityRef<D>;
  /** The current time in ms (the runtime's clock, virtual in tests). */
  now(): number;
}

/** What a trait handler sees: its own state slice, plus read access to the entity. */
export interface TraitContext<TS> {
  /** The trait's own state slice: mutate it in place or assign a new value. */
  state: TS;
  /** The entity's id. */
  readonly id: string;
  /** The entity's type. */
  readonly type: string;
  /** The node running this activation. */
  readonly nodeId: NodeId;
  /** The entity's own state (read it; traits own only their slice). */
  readonly entityState: unknown;
  /** The current time in ms. */
  now(): number;
}

/** One call as the trait hooks see it. */
export interface CallInfo {
  /** The handler's name. */
  readonly handler: string;
  /** The call's arguments (without the context). */
  readonly args: readonly unknown[];
  /** Metadata the caller attached (see `withCallMeta`); empty when none. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** What `afterCall` learns about the finished call. */
export interface CallOutcome extends CallInfo {
  /** Whether the call changed the entity's stored state (entity or any trait slice). */
  readonly changed: boolean;
  /** The handler's result. */
  readonly result: unknown;
}

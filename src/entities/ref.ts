/**
 * `EntityRef`: the typed client handle of one entity. Each handler of the definition (and
 * of its traits) becomes an async method taking the handler's arguments without the
 * context. A ref only names the entity; the runtime behind it routes the call.
 */
import type { AnyEntityDefinition } from './definition.js';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The handlers of every trait of a trait list, merged. */
export type TraitHandlersOf<Tr extends readonly unknown[]> = UnionToIntersection<Tr[number] extends { readonly handlers: infer H } ? H : never>;

/** Every handler an entity definition answers to: its own and its traits'. */
export type HandlersOf<D extends AnyEntityDefinition> = D['handlers'] & TraitHandlersOf<D['traits']>;

/** One handler as a ref method: the arguments after the context, a promise of the result. */
export type RefMethod<F> = F extends (ctx: never, ...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** The typed handle of one entity: one async method per handler. */
export type EntityRef<D extends AnyEntityDefinition> = {
  readonly [K in keyof HandlersOf<D> & string]: RefMethod<HandlersOf<D>[K]>;
};

/** Caller-side metadata of a call, seen by trait hooks (e.g. `expectedVersion` for `versioned`). */
export type CallMeta = Readonly<Record<string, unknown>>;

/** How a ref sends a call: the runtime (local or routed) behind it. */
export type RefInvoker = (handler: string, args: unknown[], meta: CallMeta) => Promise<unknown>;

const refState = Symbol('flotilla.entityRef');

interface RefInternals {
  readonly definition: AnyEntityDefinition;
  readonly id: string;
  readonly invoke: RefInvoker;
  readonly meta: CallMeta;
}

/**
 * Build a ref whose methods send calls through `invoke`. Only the definition's handler
 * names become methods (a plain object, not a Proxy: awaiting or logging a ref is safe).
 */
export function makeEntityRef<D extends AnyEntityDefinition>(definition: D, id: string, invoke: RefInvoker, meta: CallMeta = {}): EntityRef<D> {
  const ref: Record<string | symbol, unknown> = {};
  const names = Object.keys(definition.handlers);
  for (const trait of definition.traits) names.push(...Object.keys(trait.handlers));
  for (const name of names) {
    ref[name] = (...args: unknown[]): Promise<unknown> => invoke(name, args, meta);
  }
  const internals: RefInternals = { definition, id, invoke, meta };
  Object.defineProperty(ref, refState, { value: internals, enumerable: false });
  return Object.freeze(ref) as unknown as EntityRef<D>;
}

function internalsOf(ref: object): RefInternals {
  const internals = (ref as Record<symbol, RefInternals | undefined>)[refState];
  if (internals === undefined) throw new TypeError('not an entity ref');
  return internals;
}

/** A copy of `ref` whose calls carry `meta` (merged over the ref's own metadata). */
export function withCallMeta<D extends AnyEntityDefinition>(ref: EntityRef<D>, meta: CallMeta): EntityRef<D> {
  const internals = internalsOf(ref);
  return makeEntityRef(internals.definition as D, internals.id, internals.invoke, { ...internals.meta, ...meta });
}

/** The entity a ref names. */
export function refTarget(ref: object): { readonly type: string; readonly id: string } {
  const internals = internalsOf(ref);
  return { type: internals.definition.type, id: internals.id };
}

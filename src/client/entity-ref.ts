/**
 * Entity refs of the smart client: `client.entity(Def, id).method(...args)` sends a call
 * to the entity's owner through the gateways. The client takes the server's entity
 * definition only for its type name and handler names (structurally: this layer does not
 * import the entity runtime), so a ref has one typed async method per handler, the same
 * signatures a node's ref has.
 */
import { FlotillaError } from '../core/errors.js';
import { decodeValue } from '../protocol/map-values.js';
import { packBody } from '../protocol/msgpack.js';

type AnyHandler = (ctx: never, ...args: never[]) => unknown;

/** What the client reads of an entity definition (`defineEntity`'s result fits). */
export interface ClientEntityDefinition {
  readonly type: string;
  readonly handlers: { readonly [name: string]: AnyHandler };
  readonly traits: readonly { readonly handlers: { readonly [name: string]: AnyHandler } }[];
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type TraitHandlers<Tr extends readonly unknown[]> = UnionToIntersection<Tr[number] extends { readonly handlers: infer H } ? H : never>;
type ClientHandlers<D extends ClientEntityDefinition> = D['handlers'] & TraitHandlers<D['traits']>;
type ClientRefMethod<F> = F extends (ctx: never, ...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** The client's typed handle of one entity: one async method per handler. */
export type ClientEntityRef<D extends ClientEntityDefinition> = {
  readonly [K in keyof ClientHandlers<D> & string]: ClientRefMethod<ClientHandlers<D>[K]>;
};

/** Sends one call (type, id, handler, args) and resolves with its result. */
export type ClientCallSender = (type: string, id: string, handler: string, args: unknown[]) => Promise<unknown>;

/** Longest entity id, in UTF-16 code units before encoding (the protocol bounds it in bytes). */
const ENTITY_ID_LENGTH_MAX = 1024;

/** Build a ref of `definition`'s entity `id`. @throws FLO_INVALID_ARGUMENT for an empty or overlong id. */
export function makeClientEntityRef<D extends ClientEntityDefinition>(definition: D, id: string, send: ClientCallSender): ClientEntityRef<D> {
  if (typeof id !== 'string' || id.length === 0 || id.length > ENTITY_ID_LENGTH_MAX) {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `an entity id is a string of 1..${ENTITY_ID_LENGTH_MAX} characters`);
  }
  const ref: Record<string, unknown> = {};
  const names = Object.keys(definition.handlers);
  for (const trait of definition.traits) names.push(...Object.keys(trait.handlers));
  for (const name of names) ref[name] = (...args: unknown[]): Promise<unknown> => send(definition.type, id, name, args);
  return Object.freeze(ref) as unknown as ClientEntityRef<D>;
}

/** The msgpack bytes of a call's arguments. @throws FLO_INVALID_ARGUMENT for what msgpack cannot carry. */
export function encodeCallArgs(type: string, handler: string, args: readonly unknown[]): Uint8Array {
  try {
    return new Uint8Array(packBody(args));
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', `${type}.${handler}: the arguments cannot be encoded as msgpack`);
  }
}

/** A call's result from its RESULT payload: `[]` (the handler returned undefined) or `[result]`. */
export function decodeCallResult(payload: Uint8Array | null): unknown {
  const answer = payload === null ? null : decodeValue(payload);
  if (!Array.isArray(answer) || answer.length > 1) throw new FlotillaError('FLO_DECODE_INVALID', 'a call result is [] or [result]');
  return answer[0];
}

/**
 * Runs clients' entity calls on this node. A call names `type/id.handler(args)`; it is
 * routed like a keyed map op on the key `type/id`: a node not owning that partition
 * answers FLO_NOT_OWNER with the owner's client URL unless the client asked it to
 * forward, and the entity service carries the call to the owner (through moves and
 * failover, within the entity call deadline). A call unknown here (type or handler) or
 * with unreadable arguments fails at once with a catalogued code, before any routing.
 */
import { FlotillaError } from '../core/errors.js';
import type { EntityCall } from '../entities/call.js';
import { packBody } from '../protocol/msgpack.js';
import { unpackValue } from '../protocol/map-values.js';
import type { ClientCall, ServerFrame } from '../protocol/client-frames.js';
import { checkOwner, errorFrame, type ClientOpContext } from './client-ops.js';

/** Arguments of one client call, at most. */
export const CLIENT_CALL_ARGS_MAX = 64;

/** What the gateway needs of the node's entity service. */
export interface GatewayEntities {
  /** The handler names of entity type `type` as registered on this node; undefined when it is not. */
  handlersOf(type: string): readonly string[] | undefined;
  /** Route one call to its entity's owner (the local runtime when this node owns it). */
  call(call: EntityCall): Promise<unknown>;
}

/** What running a call needs: routing (as for ops), the entity service, and who the caller is. */
export interface ClientCallContext extends Pick<ClientOpContext, 'self' | 'table' | 'clientMap'> {
  readonly entities: GatewayEntities | undefined;
}

/** Run one call; resolves with its RESULT (`[]` for undefined, else `[result]`, msgpack) or ERROR frame. Never rejects. */
export async function runClientCall(ctx: ClientCallContext, call: ClientCall, caller: string): Promise<ServerFrame> {
  const key = `${call.entityType}/${call.entityId}`;
  try {
    const entityCall = prepare(ctx, call, caller);
    if (!call.forward) checkOwner(ctx, key);
    const result = await ctx.entities!.call(entityCall);
    return { type: 'RESULT', id: call.id, payload: encodeResult(result) };
  } catch (error) {
    return errorFrame(ctx, call.id, key, error);
  }
}

function prepare(ctx: ClientCallContext, call: ClientCall, caller: string): EntityCall {
  const handlers = ctx.entities?.handlersOf(call.entityType);
  if (handlers === undefined) throw new FlotillaError('FLO_ENTITY_UNKNOWN', `${call.entityType} is not registered on this node`);
  if (!handlers.includes(call.handler)) throw new FlotillaError('FLO_HANDLER_UNKNOWN', `${call.entityType}.${call.handler}`);
  const args = unpackValue(call.args, 'arguments');
  if (!Array.isArray(args)) throw new FlotillaError('FLO_INVALID_ARGUMENT', 'call arguments are an array');
  if (args.length > CLIENT_CALL_ARGS_MAX) throw new FlotillaError('FLO_INVALID_ARGUMENT', `at most ${CLIENT_CALL_ARGS_MAX} arguments`);
  // The call id is scoped by the caller's identity, so one client's retries can never be
  // answered with another caller's outcome.
  return { type: call.entityType, id: call.entityId, handler: call.handler, args: args.map(plain), meta: {}, chain: [], callId: `client/${caller}/${call.callId}` };
}

/** msgpack maps decode as `Map`s here; handlers get plain objects, as from a node's ref. */
function plain(v: unknown): unknown {
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of v) Object.defineProperty(out, String(k), { value: plain(item), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return Array.isArray(v) ? v.map(plain) : v;
}

function encodeResult(result: unknown): Uint8Array {
  try {
    return new Uint8Array(packBody(result === undefined ? [] : [result]));
  } catch {
    throw new FlotillaError('FLO_INVALID_ARGUMENT', 'the handler returned a value msgpack cannot carry');
  }
}
